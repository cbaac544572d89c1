"""The XLSForm vocabulary shared by the reader and the writer: sheets, columns and their
aliases, question type names, settings keys, language columns and the roles of the extra
`dimension` and `design` columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pycountry
from pyxform import aliases  # type: ignore[import-untyped]  # pyxform ships no type hints
from pyxform.parsing.sheet_headers import process_header  # type: ignore[import-untyped]

from survey_service.codes import DESIGN_ROLES, TAGS
from survey_service.questionnaire.definition import TEXT_KEYS

SUPPORTED_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls")
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERSON_ROLES: Final = ("sex", "age")
# the section of the definition each role of the `dimension` and `design` columns goes to
COLUMN_ROLES: Final[Mapping[str, Mapping[str, str]]] = {
    "dimension": {**dict.fromkeys(TAGS, "tags"), **dict.fromkeys(PERSON_ROLES, "persons")},
    "design": dict.fromkeys(DESIGN_ROLES, "design"),
}

OTHER_LABEL: Final = "Specify other."
"""The label of the text question an `or_other` select gets when the sheet has none (pyxform's)."""

# --------------------------------------------------------------------------------------------
# Types and columns

SIMPLE_TYPES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("integer", "int", "q int"), "integer"),
    **dict.fromkeys(("decimal", "q decimal", "add decimal prompt"), "decimal"),
    **dict.fromkeys(("text", "string", "q string", "add text prompt"), "text"),
    **dict.fromkeys(("date", "q date", "add date prompt"), "date"),
    **dict.fromkeys(
        ("datetime", "dateTime", "q date time", "add date time prompt", "add dateTime prompt"),
        "datetime",
    ),
    **dict.fromkeys(
        ("geopoint", "gps", "location", "q geopoint", "q location", "add location prompt"),
        "geopoint",
    ),
    **dict.fromkeys(("note", "q note", "add note prompt"), "note"),
    **dict.fromkeys(("calculate", "q calculate", "add calculate prompt"), "calculate"),
    **dict.fromkeys(("time", "q time", "add time prompt"), "time"),
    **dict.fromkeys(("barcode", "q barcode", "add barcode prompt"), "barcode"),
    **dict.fromkeys(("acknowledge", "q acknowledge", "add acknowledge prompt"), "acknowledge"),
    "trigger": "trigger",
    "range": "range",
    **dict.fromkeys(("geotrace", "q geotrace"), "geotrace"),
    **dict.fromkeys(("geoshape", "q geoshape"), "geoshape"),
    "hidden": "hidden",
    **dict.fromkeys(
        ("image", "photo", "q picture", "q image", "add image prompt", "add photo prompt"), "image"
    ),
    **dict.fromkeys(("audio", "q audio", "add audio prompt"), "audio"),
    **dict.fromkeys(("video", "q video", "add video prompt"), "video"),
    **dict.fromkeys(("file", "add file prompt"), "file"),
    "background-audio": "background-audio",
    "xml-external": "xml-external",
    "csv-external": "csv-external",
    # metadata, filled in by the client
    **dict.fromkeys(("start", "start time", "get start time"), "start"),
    **dict.fromkeys(("end", "end time", "get end time"), "end"),
    **dict.fromkeys(("today", "get today"), "today"),
    **dict.fromkeys(("deviceid", "device id", "get device id", "imei"), "deviceid"),
    "username": "username",
    **dict.fromkeys(("phonenumber", "get phone number"), "phonenumber"),
    **dict.fromkeys(("simserial", "sim id", "get sim id"), "simserial"),
    **dict.fromkeys(("subscriberid", "subscriber id", "get subscriber id"), "subscriberid"),
    "email": "email",
    "audit": "audit",
}
SUPPORTED_TYPES_TEXT: Final = (
    "integer, decimal, text, select_one <list>, select_multiple <list> (optionally with "
    "or_other), select_one_from_file and select_multiple_from_file <file.csv>, rank <list>, "
    "date, datetime, time, geopoint, geotrace, geoshape, barcode, "
    "range, acknowledge, trigger, hidden, image, audio, video, file, background-audio, note, "
    "calculate, xml-external, csv-external, the metadata start, end, today, deviceid, "
    "username, phonenumber, simserial, subscriberid, email and audit, begin/end group, "
    "begin/end repeat"
)
# settings read into the definition's `form` block, and the ones refused with a reason
FORM_SETTINGS: Final = ("version", "instance_name", "submission_url", "style", "clean_text_values")

# pyxform's dealiased header tokens -> our keys. Text keys may carry one more token: a language.
SURVEY_COLUMNS: Final[Mapping[tuple[str, ...], str]] = {
    ("type",): "type",
    ("name",): "name",
    ("label",): "label",
    ("hint",): "hint",
    ("bind", "relevant"): "relevant",
    ("bind", "required"): "required",
    ("bind", "jr:requiredMsg"): "required_message",
    ("bind", "constraint"): "constraint",
    ("bind", "jr:constraintMsg"): "constraint_message",
    ("bind", "calculate"): "calculation",
    ("control", "jr:count"): "repeat_count",
    ("control", "appearance"): "appearance",
    ("guidance_hint",): "guidance_hint",
    ("choice_filter",): "choice_filter",
    ("default",): "default",
    ("parameters",): "parameters",
    ("dimension",): "dimension",
    ("design",): "design",
    ("pii",): "pii",
}
CHOICES_PLAIN: Final = frozenset({"list_name", "name", "label"})
SETTINGS_PLAIN: Final = frozenset(
    {"id_string", "title", "title_translation", "description", "default_language"}
    | {"disclosure_threshold", "translations_awaiting_review", "public_key", *FORM_SETTINGS}
)
SURVEY_PLAIN: Final = frozenset(
    {"type", "name", "label", "hint", "guidance_hint", "choice_filter", "default", "parameters"}
    | {"dimension", "design", "pii"}
)
CHOICES_COLUMNS: Final[Mapping[tuple[str, ...], str]] = {
    ("list name",): "list_name",
    ("name",): "name",
    ("label",): "label",
}
SETTINGS_COLUMNS: Final[Mapping[tuple[str, ...], str]] = {
    ("id_string",): "id",
    ("title",): "title",
    ("title_translation",): "title",
    ("description",): "description",
    ("default_language",): "default_language",
    ("disclosure_threshold",): "disclosure_threshold",
    ("translations_awaiting_review",): "translations_awaiting_review",
    ("public_key",): "public_key",
    **{(key,): key for key in FORM_SETTINGS},
}
TRANSLATED: Final = frozenset({*TEXT_KEYS, "title", "description"})
UNSUPPORTED_SHEETS: Final = ("external_choices", "entities", "osm")

_CODE_IN_PARENS: Final = re.compile(r"\(([^()]*)\)\s*$")
_LANGUAGE_CODE: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_WHITESPACE: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class Column:
    """What a header means: our key (None: unsupported) and, for texts, a language token."""

    header: str
    key: str | None
    tokens: tuple[str, ...]
    language: str | None = None

    @property
    def media(self) -> bool:
        return bool(self.tokens) and self.tokens[0] == "media"


def classify(
    headers: Sequence[str],
    header_aliases: Mapping[str, Any],
    known: frozenset[str],
    columns: Mapping[tuple[str, ...], str],
) -> dict[str, Column]:
    """Each header's meaning, dealiased by pyxform's own header processing."""
    double_colon = any("::" in h for h in headers)
    result = {}
    for header in headers:
        _, tokens = process_header(header, double_colon, header_aliases, known)
        tokens = tuple(str(t) for t in tokens)
        key = columns.get(tokens)
        language = None
        if key is None and len(tokens) > 1:
            key = columns.get(tokens[:-1])
            if key in TRANSLATED:
                language = tokens[-1]
            else:
                key = None
        result[header] = Column(header, key, tokens, language)
    return result


def is_choice_property(header: str) -> bool:
    """Whether the choices sheet reads a column with this header as a property."""
    column = classify([header], aliases.list_header, CHOICES_PLAIN, CHOICES_COLUMNS)[header]
    return column.key is None and not column.media


# --------------------------------------------------------------------------------------------
# Languages


def language_column_name(code: str) -> str:
    """The XLSForm language name of a code, `English (en)`, as pyxform and ODK Collect show it."""
    base = code.split("-")[0]
    found = (
        pycountry.languages.get(alpha_2=base)
        if len(base) == 2
        else pycountry.languages.get(alpha_3=base)
    )
    name = str(found.name) if found is not None else code
    return f"{name} ({code})"


# Languages as designers name them in their own tongue or in French and Russian, which
# pycountry (English names only) does not know; casefolded, accents kept.
_LANGUAGE_NAMES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("français", "francais", "французский", "französisch"), "fr"),
    **dict.fromkeys(("anglais", "английский", "englisch", "inglés", "ingles", "inglês"), "en"),
    **dict.fromkeys(("русский", "russe", "русский язык", "russisch", "ruso", "russo"), "ru"),
    **dict.fromkeys(("español", "espanol", "espagnol", "испанский", "castellano"), "es"),
    **dict.fromkeys(("português", "portugues", "portugais", "португальский"), "pt"),
    **dict.fromkeys(("العربية", "عربي", "arabe", "арабский", "árabe"), "ar"),
    **dict.fromkeys(("deutsch", "allemand", "немецкий", "alemán"), "de"),
    **dict.fromkeys(("italiano", "italien", "итальянский"), "it"),
    **dict.fromkeys(("中文", "汉语", "漢語", "chinois", "китайский"), "zh"),
    **dict.fromkeys(("қазақша", "қазақ тілі", "казахский", "kazakh", "kazakhe"), "kk"),
    **dict.fromkeys(("кыргызча", "кыргыз тили", "киргизский", "кыргызский", "kirghize"), "ky"),
    **dict.fromkeys(("oʻzbekcha", "o'zbekcha", "ozbekcha", "ўзбекча", "узбекский", "ouzbek"), "uz"),
    **dict.fromkeys(("тоҷикӣ", "таджикский", "tadjik"), "tg"),
    **dict.fromkeys(("türkmençe", "turkmence", "туркменский", "turkmène"), "tk"),
    **dict.fromkeys(("türkçe", "turkce", "turc", "турецкий"), "tr"),
    **dict.fromkeys(("українська", "ukrainien", "украинский"), "uk"),
    **dict.fromkeys(("فارسی", "persan", "персидский", "dari", "دری"), "fa"),
    **dict.fromkeys(("اردو", "ourdou"), "ur"),
    **dict.fromkeys(("हिन्दी", "हिंदी"), "hi"),
    **dict.fromkeys(("বাংলা",), "bn"),
    **dict.fromkeys(("kiswahili", "swahili"), "sw"),
    **dict.fromkeys(("af soomaali", "soomaali"), "so"),
    **dict.fromkeys(("አማርኛ",), "am"),
    **dict.fromkeys(("bahasa indonesia",), "id"),
    **dict.fromkeys(("tiếng việt",), "vi"),
    **dict.fromkeys(("polski",), "pl"),
    **dict.fromkeys(("nederlands",), "nl"),
    **dict.fromkeys(("日本語",), "ja"),
    **dict.fromkeys(("монгол", "монгол хэл"), "mn"),
}


def language_code(token: str) -> str | None:
    """`English (en)`, `en`, `English`, `english` or `Français` -> the code; None when no
    code can be told."""
    match = _CODE_IN_PARENS.search(token)
    if match:
        code = match.group(1).strip()
        return code if _LANGUAGE_CODE.match(code) else None
    token = token.strip()
    if _LANGUAGE_CODE.match(token):
        return token
    named = _LANGUAGE_NAMES.get(_WHITESPACE.sub(" ", token.casefold()))
    if named is not None:
        return named
    try:
        found = pycountry.languages.lookup(token)
    except LookupError:
        return None
    code = getattr(found, "alpha_2", None) or getattr(found, "alpha_3", None)
    return str(code) if code else None


def language_named(token: str) -> bool:
    """Whether a language token is a name (`Français`) rather than a code, given bare or
    in parentheses (`fr`, `French (fr)`): its code is then a guess worth telling."""
    token = token.strip()
    return not (_CODE_IN_PARENS.search(token) or _LANGUAGE_CODE.match(token))


def other_question(name: str, language: str) -> dict[str, Any]:
    """The text question an `or_other` select `name` gets when the sheet has none."""
    return {
        "name": f"{name}_other",
        "type": "text",
        "label": {language: OTHER_LABEL},
        "relevant": f"selected(${{{name}}}, 'other')",
    }
