"""Generic messages of the response validator, in the seven languages of the region."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["FALLBACK_LANGUAGE", "MESSAGES", "REVIEWED", "languages_of", "message"]

#: English is the fallback: every message has it, and a language with no text falls back to it.
FALLBACK_LANGUAGE: Final = "en"

#: The languages whose messages a native speaker has reviewed. The Kazakh (kk, Cyrillic), Kyrgyz
#: (ky), Uzbek (uz, Latin script), Tajik (tg) and Turkmen (tk) texts were written by an engineer
#: and await review by a native speaker: correct them here and add the language to this set.
REVIEWED: Final = frozenset({"en", "ru"})

MESSAGES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        # --- structure
        "unknown_field": {
            "en": "Unknown field {name}: the questionnaire has no such question here.",
            "ru": "Неизвестное поле {name}: в анкете здесь нет такого вопроса.",
            "kk": "Белгісіз өріс {name}: сауалнамада бұл жерде мұндай сұрақ жоқ.",
            "ky": "Белгисиз талаа {name}: анкетада бул жерде мындай суроо жок.",
            "uz": "Nomaʼlum maydon {name}: soʻrovnomada bu yerda bunday savol yoʻq.",
            "tg": "Майдони номаълум {name}: дар пурсишнома дар ин ҷо чунин савол нест.",
            "tk": "Näbelli meýdan {name}: soragnamada bu ýerde beýle sorag ýok.",
        },
        "invalid_type": {
            "en": "Invalid value: expected {expected}.",
            "ru": "Недопустимое значение: ожидается {expected}.",
            "kk": "Жарамсыз мән: {expected} күтіледі.",
            "ky": "Жараксыз маани: {expected} күтүлөт.",
            "uz": "Notoʻgʻri qiymat: {expected} kutilmoqda.",
            "tg": "Қимати нодуруст: {expected} интизор меравад.",
            "tk": "Nädogry baha: {expected} garaşylýar.",
        },
        "note_answered": {
            "en": "A note is never answered.",
            "ru": "Примечание не требует ответа.",
            "kk": "Ескертпеге жауап берілмейді.",
            "ky": "Эскертүүгө жооп берилбейт.",
            "uz": "Izohga javob berilmaydi.",
            "tg": "Ба эзоҳ ҷавоб дода намешавад.",
            "tk": "Bellige jogap berilmeýär.",
        },
        "duplicate_choice": {
            "en": "Invalid value: {value} is selected more than once.",
            "ru": "Недопустимое значение: вариант {value} выбран более одного раза.",
            "kk": "Жарамсыз мән: {value} нұсқасы бірнеше рет таңдалған.",
            "ky": "Жараксыз маани: {value} варианты бир нече жолу тандалган.",
            "uz": "Notoʻgʻri qiymat: {value} varianti bir necha marta tanlangan.",
            "tg": "Қимати нодуруст: варианти {value} зиёда аз як маротиба интихоб шудааст.",
            "tk": "Nädogry baha: {value} warianty birnäçe gezek saýlanypdyr.",
        },
        "invalid_choice": {
            "en": "{values} is not a choice of this question.",
            "ru": "{values} — недопустимый вариант ответа на этот вопрос.",
            "kk": "{values} — бұл сұрақтың жауап нұсқасы емес.",
            "ky": "{values} — бул суроонун жооп варианты эмес.",
            "uz": "{values} — bu savolning javob varianti emas.",
            "tg": "{values} — варианти ҷавоби ин савол нест.",
            "tk": "{values} — bu soragyň jogap warianty däl.",
        },
        "filtered_choice": {
            "en": "{values} is not available given the earlier answers.",
            "ru": "Вариант {values} недоступен с учётом предыдущих ответов.",
            "kk": "{values} нұсқасы алдыңғы жауаптарға байланысты қолжетімсіз.",
            "ky": "{values} варианты мурунку жоопторго байланыштуу жеткиликсиз.",
            "uz": "{values} varianti oldingi javoblarga koʻra mavjud emas.",
            "tg": "Варианти {values} бо назардошти ҷавобҳои қаблӣ дастрас нест.",
            "tk": "{values} warianty öňki jogaplara görä elýeterli däl.",
        },
        "invalid_geopoint": {
            "en": (
                "Coordinates out of range: latitude must be between -90 and 90, longitude between "
                "-180 and 180, accuracy at least 0."
            ),
            "ru": (
                "Координаты вне допустимого диапазона: широта от -90 до 90, долгота от -180 до "
                "180, точность не меньше 0."
            ),
            "kk": (
                "Координаттар рұқсат етілген ауқымнан тыс: ендік -90 мен 90 аралығында, бойлық "
                "-180 мен 180 аралығында, дәлдік кемінде 0 болуы керек."
            ),
            "ky": (
                "Координаттар жол берилген чектен тышкары: кеңдик -90 жана 90 ортосунда, узундук "
                "-180 жана 180 ортосунда, тактык кеминде 0 болушу керек."
            ),
            "uz": (
                "Koordinatalar ruxsat etilgan oraliqdan tashqarida: kenglik -90 va 90 oraligʻida, "
                "uzunlik -180 va 180 oraligʻida, aniqlik kamida 0 boʻlishi kerak."
            ),
            "tg": (
                "Координатаҳо берун аз доираи иҷозатдодашуда: арзи ҷуғрофӣ бояд аз -90 то 90, тӯли"
                " ҷуғрофӣ аз -180 то 180, дақиқӣ на камтар аз 0 бошад."
            ),
            "tk": (
                "Koordinatalar rugsat berlen aralykdan daşarda: giňlik -90 bilen 90 aralygynda, "
                "uzynlyk -180 bilen 180 aralygynda, takyklyk azyndan 0 bolmaly."
            ),
        },
        # --- logic
        "not_relevant": {
            "en": "This does not apply given the earlier answers and must not be answered.",
            "ru": (
                "Это не относится к данному случаю с учётом предыдущих ответов и не должно "
                "заполняться."
            ),
            "kk": (
                "Алдыңғы жауаптарды ескергенде бұл сұрақ қолданылмайды, оған жауап берілмеуі керек."
            ),
            "ky": (
                "Мурунку жоопторду эске алганда бул суроо колдонулбайт, ага жооп берилбеши керек."
            ),
            "uz": (
                "Oldingi javoblarga koʻra bu savol tegishli emas va unga javob berilmasligi kerak."
            ),
            "tg": "Бо назардошти ҷавобҳои қаблӣ ин савол дахл надорад ва набояд пур карда шавад.",
            "tk": "Öňki jogaplara görä bu sorag degişli däl we oňa jogap berilmeli däl.",
        },
        "required": {
            "en": "This question requires an answer.",
            "ru": "Ответ на этот вопрос обязателен.",
            "kk": "Бұл сұраққа жауап беру міндетті.",
            "ky": "Бул суроого жооп берүү милдеттүү.",
            "uz": "Bu savolga javob berish majburiy.",
            "tg": "Ҷавоб ба ин савол ҳатмист.",
            "tk": "Bu soraga jogap bermek hökmanydyr.",
        },
        "constraint_failed": {
            "en": "The value does not satisfy the constraint: {expression}",
            "ru": "Значение не удовлетворяет условию: {expression}",
            "kk": "Мән шартқа сәйкес келмейді: {expression}",
            "ky": "Маани шартка туура келбейт: {expression}",
            "uz": "Qiymat shartga mos kelmaydi: {expression}",
            "tg": "Қимат ба шарт мувофиқат намекунад: {expression}",
            "tk": "Baha şerte laýyk gelmeýär: {expression}",
        },
        "repeat_count_mismatch": {
            "en": "Expected {expected} entries, got {actual}.",
            "ru": "Ожидалось записей: {expected}, получено: {actual}.",
            "kk": "Күтілген жазбалар саны: {expected}, алынғаны: {actual}.",
            "ky": "Күтүлгөн жазуулардын саны: {expected}, алынганы: {actual}.",
            "uz": "Kutilgan yozuvlar soni: {expected}, olingani: {actual}.",
            "tg": "Шумораи сабтҳои интизоршуда: {expected}, гирифташуда: {actual}.",
            "tk": "Garaşylýan ýazgylaryň sany: {expected}, alnany: {actual}.",
        },
        "calculation_mismatch": {
            "en": (
                "The submitted value {client} differs from the computed value {server}; the "
                "computed value is stored."
            ),
            "ru": (
                "Переданное значение {client} отличается от вычисленного {server}; сохранено "
                "вычисленное значение."
            ),
            "kk": (
                "Жіберілген {client} мәні есептелген {server} мәнінен өзгеше; есептелген мән "
                "сақталды."
            ),
            "ky": (
                "Жөнөтүлгөн {client} мааниси эсептелген {server} маанисинен айырмаланат; "
                "эсептелген маани сакталды."
            ),
            "uz": (
                "Yuborilgan {client} qiymati hisoblangan {server} qiymatidan farq qiladi; "
                "hisoblangan qiymat saqlandi."
            ),
            "tg": (
                "Қимати фиристодашуда {client} аз қимати ҳисобшуда {server} фарқ мекунад; қимати "
                "ҳисобшуда нигоҳ дошта шуд."
            ),
            "tk": (
                "Iberilen {client} bahasy hasaplanan {server} bahasyndan tapawutlanýar; hasaplanan"
                " baha saklandy."
            ),
        },
        "other_choice": {
            "en": "Other",
            "ru": "Другое",
            "kk": "Басқа",
            "ky": "Башка",
            "uz": "Boshqa",
            "tg": "Дигар",
            "tk": "Başga",
        },
        "calculation_trusted": {
            "en": "Only the device can compute this value; the submitted value is stored.",
            "ru": "Это значение может вычислить только устройство; сохранено переданное значение.",
            "kk": "Бұл мәнді тек құрылғы есептей алады; жіберілген мән сақталды.",
            "ky": "Бул маанини түзмөк гана эсептей алат; жөнөтүлгөн маани сакталды.",
            "uz": "Bu qiymatni faqat qurilma hisoblay oladi; yuborilgan qiymat saqlandi.",
            "tg": (
                "Ин қиматро танҳо дастгоҳ ҳисоб карда метавонад; қимати фиристодашуда нигоҳ "
                "дошта шуд."
            ),
            "tk": "Bu bahany diňe enjam hasaplap bilýär; iberilen baha saklandy.",
        },
        # --- what invalid_type expected
        "expected_object": {
            "en": "an object",
            "ru": "объект",
            "kk": "объект",
            "ky": "объект",
            "uz": "obyekt",
            "tg": "объект",
            "tk": "obýekt",
        },
        "expected_array": {
            "en": "an array of objects",
            "ru": "массив объектов",
            "kk": "объектілер массиві",
            "ky": "объекттердин массиви",
            "uz": "obyektlar massivi",
            "tg": "массиви объектҳо",
            "tk": "obýektleriň massiwi",
        },
        "expected_integer": {
            "en": "a whole number",
            "ru": "целое число",
            "kk": "бүтін сан",
            "ky": "бүтүн сан",
            "uz": "butun son",
            "tg": "адади бутун",
            "tk": "bitin san",
        },
        "expected_integer_in_range": {
            "en": "a whole number from -9223372036854775808 to 9223372036854775807",
            "ru": "целое число от -9223372036854775808 до 9223372036854775807",
            "kk": "бүтін сан (ең азы -9223372036854775808, ең көбі 9223372036854775807)",
            "ky": "бүтүн сан (эң азы -9223372036854775808, эң көбү 9223372036854775807)",
            "uz": "butun son (eng kami -9223372036854775808, eng koʻpi 9223372036854775807)",
            "tg": "адади бутун аз -9223372036854775808 то 9223372036854775807",
            "tk": "bitin san (iň azy -9223372036854775808, iň köpi 9223372036854775807)",
        },
        "expected_decimal": {
            "en": "a finite number",
            "ru": "конечное число",
            "kk": "шектеулі сан",
            "ky": "чектүү сан",
            "uz": "chekli son",
            "tg": "адади охирнок",
            "tk": "tükenikli san",
        },
        "expected_text": {
            "en": "a string",
            "ru": "строка",
            "kk": "жол (мәтін)",
            "ky": "сап (текст)",
            "uz": "satr (matn)",
            "tg": "сатр (матн)",
            "tk": "setir (tekst)",
        },
        "expected_select_one": {
            "en": "a choice name (a string)",
            "ru": "имя варианта ответа (строка)",
            "kk": "жауап нұсқасының атауы (жол)",
            "ky": "жооп вариантынын аталышы (сап)",
            "uz": "javob variantining nomi (satr)",
            "tg": "номи варианти ҷавоб (сатр)",
            "tk": "jogap wariantynyň ady (setir)",
        },
        "expected_select_multiple": {
            "en": "an array of distinct choice names (strings)",
            "ru": "массив различных имён вариантов ответа (строк)",
            "kk": "әртүрлі жауап нұсқалары атауларының массиві (жолдар)",
            "ky": "ар башка жооп варианттарынын аталыштарынын массиви (саптар)",
            "uz": "turli javob variantlari nomlarining massivi (satrlar)",
            "tg": "массиви номҳои гуногуни вариантҳои ҷавоб (сатрҳо)",
            "tk": "dürli jogap wariantlarynyň atlarynyň massiwi (setirler)",
        },
        "expected_date": {
            "en": "a date YYYY-MM-DD",
            "ru": "дата в формате ГГГГ-ММ-ДД",
            "kk": "ЖЖЖЖ-АА-КК пішіміндегі күн",
            "ky": "ЖЖЖЖ-АА-КК форматындагы дата",
            "uz": "YYYY-OO-KK formatidagi sana",
            "tg": "сана дар формати СССС-ММ-РР",
            "tk": "ÝÝÝÝ-AA-GG görnüşindäki sene",
        },
        "expected_datetime": {
            "en": "an ISO 8601 date-time with a UTC offset or Z, such as 2024-05-06T14:30:00+05:00",
            "ru": (
                "дата и время ISO 8601 со смещением от UTC или Z, например "
                "2024-05-06T14:30:00+05:00"
            ),
            "kk": (
                "UTC-ден ығысуы немесе Z көрсетілген ISO 8601 күні мен уақыты, мысалы "
                "2024-05-06T14:30:00+05:00"
            ),
            "ky": (
                "UTC боюнча жылышы же Z көрсөтүлгөн ISO 8601 датасы жана убактысы, мисалы "
                "2024-05-06T14:30:00+05:00"
            ),
            "uz": (
                "UTC ga nisbatan siljishi yoki Z koʻrsatilgan ISO 8601 sana va vaqti, masalan "
                "2024-05-06T14:30:00+05:00"
            ),
            "tg": "сана ва вақти ISO 8601 бо фарқ аз UTC ё Z, масалан 2024-05-06T14:30:00+05:00",
            "tk": (
                "UTC-den süýşmesi ýa-da Z görkezilen ISO 8601 senesi we wagty, mysal üçin "
                "2024-05-06T14:30:00+05:00"
            ),
        },
        "expected_shallow": {
            "en": "a value nested at most {depth} levels deep",
            "ru": "значение с вложенностью не более {depth} уровней",
            "kk": "кірістіру тереңдігі ең көбі {depth} деңгей болатын мән",
            "ky": "камтылуу тереңдиги эң көп {depth} деңгээл болгон маани",
            "uz": "ichma-ich joylashuvi koʻpi bilan {depth} darajali qiymat",
            "tg": "қимате, ки сатҳи ҷойгиршавиаш на зиёда аз {depth} аст",
            "tk": "içki derejesi iň köp {depth} bolan baha",
        },
        "expected_geopoint": {
            "en": (
                'an object {"lat": number, "lon": number, "alt": number, "accuracy": number} (alt '
                "and accuracy optional)"
            ),
            "ru": (
                'объект {"lat": число, "lon": число, "alt": число, "accuracy": число} (alt и '
                "accuracy необязательны)"
            ),
            "kk": (
                'объект {"lat": сан, "lon": сан, "alt": сан, "accuracy": сан} (alt және accuracy '
                "міндетті емес)"
            ),
            "ky": (
                'объект {"lat": сан, "lon": сан, "alt": сан, "accuracy": сан} (alt жана accuracy '
                "милдеттүү эмес)"
            ),
            "uz": (
                'obyekt {"lat": son, "lon": son, "alt": son, "accuracy": son} (alt va accuracy '
                "ixtiyoriy)"
            ),
            "tg": (
                'объект {"lat": адад, "lon": адад, "alt": адад, "accuracy": адад} (alt ва accuracy'
                " ихтиёрӣ)"
            ),
            "tk": (
                'obýekt {"lat": san, "lon": san, "alt": san, "accuracy": san} (alt we accuracy '
                "hökmany däl)"
            ),
        },
        # --- the question types of real-world XLSForms
        "expected_time": {
            "en": "a time HH:MM:SS[.fff][+hh:mm], such as 14:30:00 or 14:30:00.000+05:00",
            "ru": "время ЧЧ:ММ:СС[.fff][+чч:мм], например 14:30:00 или 14:30:00.000+05:00",
            "kk": "ЧЧ:ММ:СС[.fff][+чч:мм] уақыты, мысалы 14:30:00 немесе 14:30:00.000+05:00",
            "ky": "СС:ММ:СС[.fff][+сс:мм] убакыты, мисалы 14:30:00 же 14:30:00.000+05:00",
            "uz": "SS:DD:SS[.fff][+ss:dd] vaqti, masalan 14:30:00 yoki 14:30:00.000+05:00",
            "tg": "вақти СС:ДД:СС[.fff][+сс:дд], масалан 14:30:00 ё 14:30:00.000+05:00",
            "tk": "SS:MM:SS[.fff][+ss:mm] wagty, meselem 14:30:00 ýa-da 14:30:00.000+05:00",
        },
        "expected_acknowledge": {
            "en": 'the text "OK"',
            "ru": 'текст "OK"',
            "kk": '"OK" мәтіні',
            "ky": '"OK" тексти',
            "uz": '"OK" matni',
            "tg": 'матни "OK"',
            "tk": '"OK" teksti',
        },
        "expected_range": {
            "en": "a number",
            "ru": "число",
            "kk": "сан",
            "ky": "сан",
            "uz": "son",
            "tg": "рақам",
            "tk": "san",
        },
        "out_of_range": {
            "en": "{value} is not a value of the range from {start} to {end} by {step}.",
            "ru": "{value} не входит в диапазон от {start} до {end} с шагом {step}.",
            "kk": (
                "{value} мәні {start} мен {end} аралығында {step} қадаммен берілген мәндердің "
                "бірі емес."
            ),
            "ky": (
                "{value} мааниси {start} дан {end} чейинки {step} кадам менен берилген "
                "маанилердин бири эмес."
            ),
            "uz": "{value} qiymati {start} dan {end} gacha {step} qadamli oraliqqa kirmaydi.",
            "tg": "{value} ба доираи аз {start} то {end} бо қадами {step} дохил намешавад.",
            "tk": "{value} bahasy {start}-dan {end}-a çenli {step} ädimli aralyga girmeýär.",
        },
        "expected_rank": {
            "en": "an array of choice names, or their names separated by spaces",
            "ru": "массив имён вариантов или их имена через пробел",
            "kk": "нұсқа атауларының массиві немесе бос орынмен бөлінген атаулары",
            "ky": "варианттардын аталыштарынын массиви же боштук менен бөлүнгөн аталыштары",
            "uz": "variant nomlari massivi yoki bo'sh joy bilan ajratilgan nomlari",
            "tg": "массиви номҳои вариантҳо ё номҳои онҳо бо фосила ҷудошуда",
            "tk": "saýlawlaryň atlarynyň massiwi ýa-da boşluk bilen bölünen atlary",
        },
        "incomplete_rank": {
            "en": "A ranking puts every choice in order; missing: {values}.",
            "ru": "В ранжировании должны быть все варианты; не хватает: {values}.",
            "kk": "Рейтингте барлық нұсқалар болуы керек; жетіспейтіні: {values}.",
            "ky": "Рейтингде бардык варианттар болушу керек; жетишпегени: {values}.",
            "uz": "Reytingda barcha variantlar bo'lishi kerak; yetishmayotgani: {values}.",
            "tg": "Дар рейтинг ҳамаи вариантҳо бояд бошанд; намерасад: {values}.",
            "tk": "Reýtingde ähli saýlawlar bolmaly; ýetmeýäni: {values}.",
        },
        "expected_geometry": {
            "en": 'an array of points {"lat": number, "lon": number, "alt": number, '
            '"accuracy": number}, or the text "lat lon alt accuracy;lat lon alt accuracy;..."',
            "ru": 'массив точек {"lat": число, "lon": число, "alt": число, '
            '"accuracy": число} или текст "lat lon alt accuracy;lat lon alt accuracy;..."',
            "kk": (
                '{"lat": сан, "lon": сан, "alt": сан, "accuracy": сан} нүктелерінің массиві '
                'немесе "lat lon alt accuracy;lat lon alt accuracy;..." мәтіні'
            ),
            "ky": (
                '{"lat": сан, "lon": сан, "alt": сан, "accuracy": сан} чекиттеринин массиви '
                'же "lat lon alt accuracy;lat lon alt accuracy;..." тексти'
            ),
            "uz": (
                '{"lat": son, "lon": son, "alt": son, "accuracy": son} nuqtalari massivi '
                'yoki "lat lon alt accuracy;lat lon alt accuracy;..." matni'
            ),
            "tg": (
                'массиви нуқтаҳои {"lat": рақам, "lon": рақам, "alt": рақам, "accuracy": '
                'рақам} ё матни "lat lon alt accuracy;lat lon alt accuracy;..."'
            ),
            "tk": (
                '{"lat": san, "lon": san, "alt": san, "accuracy": san} nokatlarynyň massiwi '
                'ýa-da "lat lon alt accuracy;lat lon alt accuracy;..." teksti'
            ),
        },
        "too_few_points": {
            "en": "A {kind} needs at least {minimum} points, not {count}.",
            "ru": "Для {kind} нужно не менее {minimum} точек, а не {count}.",
            "kk": "{kind} үшін кемінде {minimum} нүкте қажет, {count} емес.",
            "ky": "{kind} үчүн кеминде {minimum} чекит керек, {count} эмес.",
            "uz": "{kind} uchun kamida {minimum} nuqta kerak, {count} emas.",
            "tg": "Барои {kind} на камтар аз {minimum} нуқта лозим аст, на {count}.",
            "tk": "{kind} üçin azyndan {minimum} nokat gerek, {count} däl.",
        },
        "shape_not_closed": {
            "en": "A shape ends at its first point.",
            "ru": "Контур должен заканчиваться в первой точке.",
            "kk": "Контур бірінші нүктесінде аяқталуы керек.",
            "ky": "Контур биринчи чекитинде бүтүшү керек.",
            "uz": "Kontur birinchi nuqtasida tugashi kerak.",
            "tg": "Контур бояд дар нуқтаи аввалаш анҷом ёбад.",
            "tk": "Kontur ilkinji nokadynda gutarmaly.",
        },
        "invalid_file_name": {
            "en": "{value} is not a file name (no folders, at most 255 characters).",
            "ru": "{value} — не имя файла (без папок, не более 255 символов).",
            "kk": "{value} файл атауы емес (қалтасыз, 255 таңбадан аспайды).",
            "ky": "{value} файлдын аты эмес (папкасыз, 255 белгиден ашпайт).",
            "uz": "{value} fayl nomi emas (papkasiz, 255 belgidan oshmasin).",
            "tg": "{value} номи файл нест (бе ҷузвдон, на зиёда аз 255 аломат).",
            "tk": "{value} faýl ady däl (bukjasyz, 255 nyşandan köp däl).",
        },
        "never_answered": {
            "en": "This is data attached to the form, never answered.",
            "ru": "Это данные, приложенные к форме; на них не отвечают.",
            "kk": "Бұл формаға тіркелген деректер; оларға жауап берілмейді.",
            "ky": "Бул формага тиркелген маалыматтар; аларга жооп берилбейт.",
            "uz": "Bu formaga biriktirilgan ma'lumotlar; ularga javob berilmaydi.",
            "tg": "Ин маълумоти ба шакл замимашуда аст; ба онҳо ҷавоб дода намешавад.",
            "tk": "Bu forma goşulan maglumatlar; olara jogap berilmeýär.",
        },
    }
)


def languages_of(language: str | None) -> tuple[str, ...]:
    """The language and its primary subtag (`uz-Cyrl` → `uz-Cyrl`, `uz`), most specific first."""
    if not language:
        return ()
    base = language.split("-", 1)[0].split("_", 1)[0]
    return (language, base) if base != language else (language,)


def message(key: str, language: str | None = None, **params: object) -> str:
    """The message `key` in `language` (or its primary subtag, else English), formatted."""
    texts = MESSAGES[key]
    text = None
    for candidate in languages_of(language):
        text = texts.get(candidate) or texts.get(candidate.lower())
        if text is not None:
            break
    if text is None:
        text = texts[FALLBACK_LANGUAGE]
    return text.format(**params) if params else text
