"""Media answers are found at their paths and judged against the files that came."""

from __future__ import annotations

from survey_service.media import plausible_answer_file
from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator
from survey_service.validation.files import MediaAnswer, file_problems, media_answers
from tests.helpers import minimal_definition

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def definition() -> object:
    data = minimal_definition()
    data["questions"][5]["questions"].append(
        {"name": "portrait", "type": "image", "label": {"en": "Portrait"}}
    )
    data["questions"].append({"name": "log", "type": "audit"})
    return load_definition(data)


def test_media_answers_are_found_in_rosters_with_their_paths() -> None:
    answers = {"members": [{"portrait": ""}, {"portrait": "p2.jpg"}, "junk"], "log": "audit.csv"}
    assert media_answers(definition(), answers) == [  # type: ignore[arg-type]
        MediaAnswer("members[1].portrait", "image", "p2.jpg"),
        MediaAnswer("log", "audit", "audit.csv"),
    ]
    assert media_answers(definition(), "not an object") == []  # type: ignore[arg-type]


def test_missing_too_large_and_implausible_files_are_refused() -> None:
    media = [
        MediaAnswer("a", "image", "a.jpg"),
        MediaAnswer("b", "image", "b.jpg"),
        MediaAnswer("c", "video", "c.mp4"),
        MediaAnswer("d", "file", "d.bin"),
        MediaAnswer("e", "image", "e.jpg"),
    ]
    files = {"a.jpg": JPEG, "c.mp4": JPEG, "d.bin": b"anything", "e.jpg": JPEG * 10}
    problems = file_problems(media, files, plausible_answer_file, max_bytes=100)
    assert [(p.path, p.code) for p in problems] == [
        ("b", "response.missing_file"),
        ("c", "response.invalid_file"),
        ("e", "response.invalid_file"),
    ]


def test_plausible_kinds() -> None:
    webp = b"RIFF\x00\x00\x00\x00WEBPVP8 "
    assert plausible_answer_file("image", webp)
    assert plausible_answer_file("audio", b"#!AMR\n")
    assert plausible_answer_file("background-audio", b"\x00\x00\x00\x18ftyp3gp4")
    assert plausible_answer_file("video", b"\x1a\x45\xdf\xa3webm")
    assert not plausible_answer_file("video", b"OggS")
    assert not plausible_answer_file("file", b"")
    assert plausible_answer_file("file", b"x")


ROWS = (
    {"name": "v1", "label": "Ak-Suu", "label::Russian (ru)": "Ак-Суу", "area": "KG-C"},
    {"name": "v2", "label": "Kara-Suu", "label::Russian (ru)": "Кара-Суу", "area": "KG-O"},
)


def test_pulldata_is_computed_from_the_table_and_trusted_without_it() -> None:
    data = minimal_definition()
    data["questions"] += [
        {"name": "code", "type": "text", "label": {"en": "Code"}},
        {
            "name": "area",
            "type": "calculate",
            "calculation": "pulldata('v', 'area', 'name', ${code})",
        },
    ]
    definition = load_definition(data)
    assert definition.pulldata_tables == ["v"]
    answers = {"country": "KG", "cluster": "c", "hh_size": 1, "members": [{}], "code": "v2"}
    computed = ResponseValidator(definition, {"v": ROWS}).validate({**answers, "area": "x"})
    assert computed.answers["area"] == "KG-O"
    assert [w.code for w in computed.warnings] == ["response.calculation_mismatch"]
    trusted = ResponseValidator(definition).validate({**answers, "area": "x"})
    assert trusted.answers["area"] == "x" and trusted.trusted == ["area"]


def test_file_choices_have_labels_by_language_and_properties() -> None:
    data = minimal_definition()
    data["questions"].append(
        {"name": "village", "type": "select_one", "choices_file": "v.csv", "label": {"en": "V"}}
    )
    definition = load_definition(data)
    assert definition.choices_files == ["v.csv"]
    (first, _) = definition.with_file_choices({"v.csv": ROWS}).choice_lists["v.csv"]
    assert first.label == {"en": "Ak-Suu", "ru": "Ак-Суу"}
    assert first.properties == {"area": "KG-C"}
