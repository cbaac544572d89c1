"""Writing questionnaire definitions as XLSForm: the .xlsx workbook researchers download (the
reader takes it back unchanged), and the workbook dict pyxform builds the XForm from."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from survey_service.questionnaire.definition import (
    LIST_TYPES,
    TEXT_KEYS,
    DefinitionError,
    check_definition,
    format_path,
)
from survey_service.questionnaire.xlsform.vocabulary import (
    COLUMN_ROLES,
    is_choice_property,
    language_column_name,
    other_question,
)

__all__ = ["PyxformWorkbook", "pyxform_workbook", "xlsform_from_definition"]


@dataclass
class _Layout:
    """The three sheets as rows of cell values (header -> value)."""

    survey: list[dict[str, Any]] = field(default_factory=list)
    survey_paths: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PyxformWorkbook:
    """A definition as the dict pyxform's converter takes, and each survey row's JSON path."""

    data: dict[str, Any]
    row_paths: list[str]

    def path_of_row(self, row: int) -> str | None:
        """The JSON path of survey row `row` (2 is the first row under the headers)."""
        index = row - 2
        return self.row_paths[index] if 0 <= index < len(self.row_paths) else None


class _Writer:
    """Lays a definition out as XLSForm sheets, for a workbook or for pyxform."""

    def __init__(self, definition: Mapping[str, Any], *, for_xform: bool) -> None:
        self.definition = definition
        self.for_xform = for_xform
        self.default = str(definition["default_language"])
        self.languages = [str(x) for x in definition.get("languages") or [self.default]]
        self.lists: dict[str, list[Mapping[str, Any]]] = {
            str(k): list(v) for k, v in (definition.get("choice_lists") or {}).items()
        }
        self.other_lists: dict[str, str] = {}  # list -> the list with `other` added (XForm)
        self.roles: dict[str, list[tuple[str, str]]] = {}
        for section in ("tags", "persons", "design"):
            for role, name in (definition.get(section) or {}).items():
                self.roles.setdefault(str(name), []).append((section, str(role)))
        self.layout = _Layout()

    def text_header(self, key: str, code: str) -> str:
        return f"{key}::{language_column_name(code)}"

    def texts(self, text: Mapping[str, str], key: str) -> dict[str, str]:
        cells = {}
        for code in self.languages:
            value = text.get(code)
            if value is None and self.for_xform:
                value = text.get(self.default)  # the documented fallback; pyxform writes "-"
            if value is not None:
                cells[self.text_header(key, code)] = value
        return cells

    def run(self, *, version: int | None = None) -> _Layout:
        self.questions(self.definition["questions"], ["questions"])
        self.choices()
        self.settings(version)
        return self.layout

    def questions(self, questions: Sequence[Mapping[str, Any]], base: list[str | int]) -> None:
        skip: set[int] = set()
        for index, question in enumerate(questions):
            if index in skip:
                continue
            path = format_path([*base, index])
            kind = str(question["type"])
            row: dict[str, Any] = {"name": question["name"]}
            choice_filter = question.get("choice_filter")
            if kind in ("group", "repeat"):
                row["type"] = f"begin {kind}"
            elif kind in LIST_TYPES and "choices_file" in question:
                # pyxform makes it an instance (jr://file-csv/...) and an itemset
                row["type"] = f"{kind}_from_file {question['choices_file']}"
            elif kind in LIST_TYPES:
                list_name = str(question["choices"])
                if question.get("or_other") and self.for_xform:
                    list_name = self.other_list(list_name)
                    if choice_filter:
                        choice_filter = f"({choice_filter}) or name = 'other'"
                elif question.get("or_other"):
                    list_name += " or_other"
                    following = questions[index + 1] if index + 1 < len(questions) else None
                    if following == other_question(str(question["name"]), self.default):
                        skip.add(index + 1)  # the reader adds it back
                row["type"] = f"{kind} {list_name}"
            else:
                row["type"] = kind
            for key in TEXT_KEYS:
                if key in question:
                    row.update(self.texts(question[key], key))
            for key in ("relevant", "constraint", "calculation", "repeat_count", "appearance"):
                if key in question:
                    row[key] = question[key]
            if choice_filter:
                row["choice_filter"] = choice_filter
            if "required" in question:
                required = question["required"]
                row["required"] = (
                    required if isinstance(required, str) else ("yes" if required else "no")
                )
            if "default" in question:
                row["default"] = _cell_text(question["default"])
            if "parameters" in question:
                row["parameters"] = question["parameters"]
            row.update(self.media(question.get("media") or {}))
            for section in ("bind", "body"):
                for attribute, value in (question.get(section) or {}).items():
                    row[f"{section}::{attribute}"] = value
            if not self.for_xform:
                if "pii" in question:
                    row["pii"] = "yes" if question["pii"] else "no"
                for column, column_roles in COLUMN_ROLES.items():
                    roles = [
                        r
                        for section, r in self.roles.get(str(question["name"]), [])
                        if column_roles.get(r) == section
                    ]
                    if roles:
                        row[column] = " ".join(roles)
            self.layout.survey.append(row)
            self.layout.survey_paths.append(path)
            if kind in ("group", "repeat"):
                self.questions(question["questions"], [*base, index, "questions"])
                self.layout.survey.append({"type": f"end {kind}"})
                self.layout.survey_paths.append(path)

    def media(self, media: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """The media columns of a question or choice (`image::English (en)`)."""
        cells = {}
        for kind, files in media.items():
            for code, file_name in files.items():
                cells[f"{kind}::{language_column_name(code)}"] = file_name
        return cells

    def other_list(self, list_name: str) -> str:
        """For the XForm: a copy of the list with the `other` choice (pyxform would add its own
        `<name>_other` question and change the list for every question using it)."""
        if list_name in self.other_lists:
            return self.other_lists[list_name]
        choices = self.lists.get(list_name, [])
        if any(c.get("name") == "other" for c in choices):
            self.other_lists[list_name] = list_name
            return list_name
        derived = f"{list_name}_or_other"
        while derived in self.lists:
            derived += "_"
        other = {"name": "other", "label": dict.fromkeys(self.languages, "Other")}
        self.lists[derived] = [*choices, other]
        self.other_lists[list_name] = derived
        return derived

    def choices(self) -> None:
        for list_name, choices in self.lists.items():
            for choice in choices:
                row: dict[str, Any] = {"list_name": list_name, "name": choice["name"]}
                row.update(self.texts(choice.get("label", {}), "label"))
                row.update(self.media(choice.get("media") or {}))
                for key, value in (choice.get("properties") or {}).items():
                    if not self.for_xform and not is_choice_property(str(key)):
                        raise ValueError(
                            f"choice property {key!r} of list {list_name!r} would be read back "
                            "as a column of its own; rename it"
                        )
                    row[str(key)] = value
                self.layout.choices.append(row)

    def settings(self, version: int | None) -> None:
        title: Mapping[str, str] = self.definition["title"]
        settings: dict[str, Any] = {
            "form_id": self.definition["id"],
            "form_title": title.get(self.default, next(iter(title.values()))),
            "default_language": language_column_name(self.default),
        }
        form = self.definition.get("form") or {}
        if version is not None:  # the XForm's version is the published version's number
            settings["version"] = str(version)
        elif "version" in form:
            settings["version"] = form["version"]
        for key in ("instance_name", "style"):
            if key in form:
                settings[key] = form[key]
        if "clean_text_values" in form:
            settings["clean_text_values"] = "yes" if form["clean_text_values"] else "no"
        if "submission_url" in form and not self.for_xform:  # answers come to the service
            settings["submission_url"] = form["submission_url"]
        if not self.for_xform:
            for code in self.languages:
                if code != self.default and code in title:
                    settings[f"title_translation::{language_column_name(code)}"] = title[code]
            description = self.definition.get("description") or {}
            for code in self.languages:
                if code in description:
                    settings[self.text_header("description", code)] = description[code]
            threshold = (self.definition.get("settings") or {}).get("disclosure_threshold")
            if threshold is not None:
                settings["disclosure_threshold"] = threshold
            awaiting = (self.definition.get("settings") or {}).get("translations_awaiting_review")
            if awaiting:
                settings["translations_awaiting_review"] = " ".join(awaiting)
        self.layout.settings = settings

    def survey_headers(self) -> list[str]:
        """The survey columns in use, in a fixed order; label columns for every language."""

        def texts(key: str) -> list[str]:
            return [self.text_header(key, code) for code in self.languages]

        order = [
            "type",
            "name",
            *texts("label"),
            *texts("hint"),
            *texts("guidance_hint"),
            "relevant",
            "required",
            *texts("required_message"),
            "constraint",
            *texts("constraint_message"),
            "calculation",
            "choice_filter",
            "repeat_count",
            "default",
            "appearance",
            "parameters",
            "pii",
            "dimension",
            "design",
        ]
        used = {k for row in self.layout.survey for k in row} | set(texts("label"))
        for key in TEXT_KEYS:  # a text in one language: columns for all, for translators
            if used & set(texts(key)):
                used |= set(texts(key))
        extra = dict.fromkeys(k for row in self.layout.survey for k in row if k not in order)
        return [h for h in order if h in used] + sorted(extra)

    def choices_headers(self) -> list[str]:
        labels = [self.text_header("label", code) for code in self.languages]
        fixed = ["list_name", "name", *labels]
        properties = dict.fromkeys(k for row in self.layout.choices for k in row if k not in fixed)
        return [*fixed, *properties]


def _cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pyxform_workbook(definition: Mapping[str, Any], *, version: int) -> PyxformWorkbook:
    """A checked definition as the workbook dict pyxform converts to an XForm.

    Unlike the spreadsheet export, every text is given in every language (the default
    language stands in, as the service does), and `or_other` selects get a list with the
    `other` choice instead of pyxform's generated question (the definition has its own).
    """
    writer = _Writer(definition, for_xform=True)
    layout = writer.run(version=version)
    data: dict[str, Any] = {
        "survey": [{k: str(v) for k, v in row.items()} for row in layout.survey],
        "survey_header": [dict.fromkeys(writer.survey_headers())],
        "settings": [{k: str(v) for k, v in layout.settings.items()}],
        "settings_header": [dict.fromkeys(layout.settings)],
        "sheet_names": ["survey", "choices", "settings"],
    }
    if layout.choices:
        data["choices"] = [{k: str(v) for k, v in row.items()} for row in layout.choices]
        data["choices_header"] = [dict.fromkeys(writer.choices_headers())]
    return PyxformWorkbook(data, list(layout.survey_paths))


def xlsform_from_definition(definition: Mapping[str, Any]) -> bytes:
    """An .xlsx workbook (survey, choices, settings) that `definition_from_xlsform` reads back
    into the same definition; raises DefinitionError when the definition does not check."""
    problems = check_definition(definition)
    if problems:
        raise DefinitionError(problems)
    writer = _Writer(definition, for_xform=False)
    layout = writer.run()
    workbook = Workbook()
    survey_sheet = workbook.active
    assert survey_sheet is not None  # noqa: S101  # a new workbook has a sheet
    survey_sheet.title = "survey"
    sheets = [
        (survey_sheet, writer.survey_headers(), layout.survey),
        (workbook.create_sheet("choices"), writer.choices_headers(), layout.choices),
        (workbook.create_sheet("settings"), list(layout.settings), [layout.settings]),
    ]
    for sheet, headers, rows in sheets:
        for column, header in enumerate(headers, start=1):
            _write(sheet, 1, column, header)
        for number, row in enumerate(rows, start=2):
            for column, header in enumerate(headers, start=1):
                if header in row:
                    _write(sheet, number, column, row[header])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write(sheet: Any, row: int, column: int, value: Any) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula
