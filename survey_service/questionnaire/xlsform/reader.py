"""Reading XLSForm spreadsheets into questionnaire definitions, with pyxform's reader: every
cell ends up in the definition or in a problem that names it (`survey!B12`)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Final

import xlrd  # type: ignore[import-untyped]  # no type hints; only the header row is read
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from pyxform import aliases  # type: ignore[import-untyped]  # pyxform ships no type hints
from pyxform.errors import PyXFormError  # type: ignore[import-untyped]
from pyxform.xls2json import (  # type: ignore[import-untyped]
    RE_BEGIN_CONTROL,
    RE_END_CONTROL,
    RE_SELECT,
)
from pyxform.xls2json_backends import get_xlsform  # type: ignore[import-untyped]

from survey_service import error_codes
from survey_service.errors import FieldError
from survey_service.expressions import ExpressionError, parse
from survey_service.questionnaire.definition import (
    LIST_TYPES,
    SELECT_TYPES,
    allowed_keys,
    check_definition,
    format_path,
)
from survey_service.questionnaire.xform import xform_problems
from survey_service.questionnaire.xlsform.limits import (
    LIMITS,
    UnsafeWorkbook,
    WorkbookLimits,
    WorkbookTooLarge,
    check_workbook,
)
from survey_service.questionnaire.xlsform.vocabulary import (
    CHOICES_COLUMNS,
    CHOICES_PLAIN,
    COLUMN_ROLES,
    FORM_SETTINGS,
    SETTINGS_COLUMNS,
    SETTINGS_PLAIN,
    SIMPLE_TYPES,
    SUPPORTED_SUFFIXES,
    SUPPORTED_TYPES_TEXT,
    SURVEY_COLUMNS,
    SURVEY_PLAIN,
    TRANSLATED,
    UNSUPPORTED_SHEETS,
    Column,
    classify,
    language_code,
    language_column_name,
    language_named,
    other_question,
)

__all__ = ["WorkbookTooLarge", "XLSFormError", "definition_from_xlsform", "read_xlsform"]

_EXPRESSION_KEYS: Final = (
    "relevant",
    "constraint",
    "required",
    "calculation",
    "repeat_count",
    "choice_filter",
)
# The order keys take in a question we read, as in the reference questionnaires.
_QUESTION_ORDER: Final = (
    "name",
    "type",
    "label",
    "hint",
    "relevant",
    "choices",
    "choice_filter",
    "or_other",
    "required",
    "required_message",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "repeat_count",
    "appearance",
    "parameters",
    "guidance_hint",
    "media",
    "bind",
    "body",
    "pii",
    "questions",
)
# checks of an answer, meaningless on a row nobody answers
_CHECK_KEYS: Final = ("required", "required_message", "constraint", "constraint_message")
_SLUG: Final = re.compile(r"^[a-z][a-z0-9-]{2,63}$")
_SLUGGABLE: Final = re.compile(r"^[A-Za-z0-9 _.-]+$")
_QUESTION_PATH_IN_MESSAGE: Final = re.compile(r"questions\[\d+\](?:\.questions\[\d+\])*")
_WHITESPACE: Final = re.compile(r"\s+")
_PLAIN_CHOICE_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]+$")
_PROPERTY_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


class XLSFormError(ValueError):
    """A spreadsheet the service cannot take; `problems` lists every one with its cell."""

    def __init__(self, problems: Sequence[Mapping[str, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the XLSForm")
        self.problems: list[dict[str, str]] = [dict(p) for p in problems]


def _slug(text: str) -> str | None:
    """A questionnaire id from a form_id (`My_Form 2` -> `my-form-2`), or None."""
    if not _SLUGGABLE.match(text):
        return None
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug if _SLUG.match(slug) else None


def _yes_no(value: str) -> bool | None:
    found = aliases.yes_no.get(value.strip())
    return found if isinstance(found, bool) else None


@dataclass
class _Sheet:
    """One sheet as pyxform's reader gave it, with the columns' letters for problem paths."""

    title: str
    headers: list[str]
    rows: Sequence[Mapping[str, str]]
    letters: dict[str, str]

    def cell(self, row: int, header: str | None) -> str:
        if header is None:
            return f"{self.title}!A{row}"
        letter = self.letters.get(header)
        if letter is None:
            position = self.headers.index(header) if header in self.headers else 0
            letter = str(get_column_letter(position + 1))
        return f"{self.title}!{letter}{row}"


@dataclass
class _Where:
    """The row an element of the definition came from; columns maps sub-paths to headers."""

    sheet: _Sheet
    row: int
    header: str | None
    columns: dict[str, str] = field(default_factory=dict)

    def cell(self, sub: str = "", message: str = "") -> str:
        """The cell of a sub-path (`label.ru`, `constraint`), else of the row's key column."""
        candidates = [sub] if sub else []
        candidates += [sub[:i] for i in range(len(sub) - 1, 0, -1) if sub[i] in ".["]
        for candidate in candidates:
            if candidate in self.columns:
                return self.sheet.cell(self.row, self.columns[candidate])
        for key, header in self.columns.items():  # `'bad name' does not match` on `properties`
            if sub and key.startswith(sub) and repr(header) in message:
                return self.sheet.cell(self.row, header)
        return self.sheet.cell(self.row, self.header)


def _header_letters(content: bytes, suffix: str) -> dict[str, dict[str, str]]:
    """Sheet (lower-case) -> header -> column letter, for the cells problems point at."""
    firsts: dict[str, list[Any]] = {}
    try:
        if suffix == ".xls":
            book = xlrd.open_workbook(file_contents=content, on_demand=True)
            for sheet in book.sheets():
                firsts[str(sheet.name)] = list(sheet.row_values(0)) if sheet.nrows else []
        else:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                for worksheet in workbook.worksheets:
                    rows = worksheet.iter_rows(max_row=1, values_only=True)
                    firsts[str(worksheet.title)] = list(next(rows, ()))
            finally:
                workbook.close()
    except Exception:  # noqa: BLE001  # the letters are a nicety; pyxform reports a bad file
        return {}
    letters: dict[str, dict[str, str]] = {}
    for name, values in firsts.items():
        sheet_letters = letters.setdefault(name.lower(), {})
        for position, value in enumerate(values):
            if isinstance(value, str) and value.strip():
                header = _WHITESPACE.sub(" ", value.strip())
                sheet_letters.setdefault(header, str(get_column_letter(position + 1)))
    return letters


class _Reader:
    """Maps pyxform's reading of a workbook onto a definition, noting where each part came from."""

    def __init__(self, data: Any, letters: Mapping[str, dict[str, str]], filename: str) -> None:
        self.data = data
        self.letters = letters
        self.filename = filename
        self.problems: list[dict[str, str]] = []
        self.fatal = False
        self.cells: dict[str, str] = {}  # top-level JSON path -> cell
        self.where: dict[int, _Where] = {}  # id(question or choice dict) -> its row
        self.index: dict[str, _Where] = {}  # JSON path -> row, filled in by `locate_all`
        self.refused_names: set[str] = set()
        self.reported: set[tuple[int, str]] = set()  # (id(question), key) of reported expressions
        self.suppressed: set[str] = set()  # JSON paths whose unknown_function was reported
        self.default_language = "en"
        self.languages: list[str] = []
        self.list_rows: dict[str, _Where] = {}
        self.column_languages: dict[tuple[str, str], str | None] = {}
        self.sheet_keys: dict[str, dict[str, str]] = {}
        self.warnings: list[dict[str, str]] = []
        self.form: dict[str, Any] = {}
        self.untranslated: dict[tuple[str, str], list[str]] = {}  # (sheet, key) -> cells

    # -- helpers

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(FieldError(path, code, message).as_dict())

    def warning(self, path: str, code: str, message: str) -> None:
        """Something accepted but ignored or guessed: kept with the draft, naming its cell."""
        found = FieldError(path, code, message).as_dict()
        if found not in self.warnings:
            self.warnings.append(found)

    def extras(
        self, sheet: _Sheet, columns: Mapping[str, Column], others: Mapping[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The media, bind:: and body:: cells of a row as definition keys, and the rest."""
        out: dict[str, Any] = {}
        rest: dict[str, str] = {}
        for header, value in others.items():
            tokens = columns[header].tokens
            if tokens and tokens[0] == "media" and len(tokens) in (2, 3):
                code = language_code(tokens[2]) if len(tokens) == 3 else self.default_language
                if code is None:
                    code = self.default_language
                out.setdefault("media", {}).setdefault(tokens[1], {})[code] = value
            elif len(tokens) == 2 and tokens[0] in ("bind", "control"):
                section = "bind" if tokens[0] == "bind" else "body"
                out.setdefault(section, {})[tokens[1]] = value
            else:
                rest[header] = value
        return out, rest

    def sheet(self, name: str) -> _Sheet | None:
        rows = getattr(self.data, name, None)
        header_rows = getattr(self.data, f"{name}_header", None)
        if rows is None and not header_rows:
            return None
        headers = [str(h) for h in header_rows[0]] if header_rows else []
        sheet_names = [str(s) for s in (self.data.sheet_names or [])]
        title = next((s for s in sheet_names if s.lower() == name), None)
        if title is None and name == "survey" and len(sheet_names) == 1:
            title = sheet_names[0]
        title = title or name
        letters = self.letters.get(title.lower(), {})
        return _Sheet(title, headers, list(rows or []), letters)

    def language(self, sheet: _Sheet, column: Column) -> str | None:
        """The language code of a text column (reported once, and None, when it has none)."""
        if column.language is None:
            return self.default_language
        key = (sheet.title, column.header)
        if key not in self.column_languages:
            code = language_code(column.language)
            self.column_languages[key] = code
            if code is not None and language_named(column.language):
                self.warning(
                    sheet.cell(1, column.header),
                    error_codes.XLSFORM_LANGUAGE_NAMED,
                    f"column {column.header!r}: {column.language.strip()!r} is taken to be the "
                    f"language {code!r}; name the code in parentheses to say so, like "
                    f"'{column.header.rpartition('::')[0] or column.key}::"
                    f"{language_column_name(code)}'",
                )
            if code is None:
                self.problem(
                    sheet.cell(1, column.header),
                    error_codes.XLSFORM_INVALID_VALUE,
                    f"column {column.header!r}: cannot tell the language code; "
                    f"write it in parentheses, like 'label::English (en)'",
                )
        return self.column_languages[key]

    def see_language(self, code: str) -> None:
        if code not in self.languages:
            self.languages.append(code)

    def ignored_columns(self, sheet: _Sheet, columns: Mapping[str, Column]) -> None:
        """Columns without meaning here (`disaggregation`, notes to designers): a warning."""
        for header, column in columns.items():
            tokens = column.tokens
            if column.key is not None or (tokens and tokens[0] == "media"):
                continue
            if len(tokens) == 2 and tokens[0] in ("bind", "control"):
                continue
            if any(header in row for row in sheet.rows):
                self.warning(
                    sheet.cell(1, header),
                    error_codes.XLSFORM_IGNORED_COLUMN,
                    f"column {header!r} has no meaning to the service and is not kept "
                    "(docs/questionnaire-format.md lists the columns read)",
                )

    def unsupported_columns(self, sheet: _Sheet, columns: Mapping[str, Column], hint: str) -> None:
        for header, column in columns.items():
            if column.key is not None:
                continue
            for index, row in enumerate(sheet.rows):
                if header in row:
                    self.problem(
                        sheet.cell(index + 2, header),
                        error_codes.XLSFORM_UNSUPPORTED_COLUMN,
                        f"column {header!r} is not supported{hint}",
                    )
                    break

    # -- sheets

    def read(self) -> dict[str, Any]:
        for name in UNSUPPORTED_SHEETS:
            if getattr(self.data, name, None):
                self.problem(
                    name,
                    error_codes.XLSFORM_UNSUPPORTED_SHEET,
                    f"the {name!r} sheet is not supported: choices go in the 'choices' sheet",
                )
        survey = self.sheet("survey")
        if survey is None or not survey.headers:
            self.problem(
                "survey", error_codes.XLSFORM_MISSING_SHEET, "the workbook has no 'survey' sheet"
            )
            self.fatal = True
            return {}
        survey_columns = classify(
            survey.headers, aliases.survey_header, SURVEY_PLAIN, SURVEY_COLUMNS
        )
        settings = self.read_settings(survey_columns)
        if "type" not in {c.key for c in survey_columns.values()}:
            self.problem(
                f"{survey.title}!A1",
                error_codes.XLSFORM_MISSING_COLUMN,
                "the survey sheet has no 'type' column",
            )
            self.fatal = True
            return {}
        choices = self.sheet("choices")
        choices_columns = (
            classify(choices.headers, aliases.list_header, CHOICES_PLAIN, CHOICES_COLUMNS)
            if choices is not None
            else {}
        )
        # languages in the order their columns appear: survey, then choices, then settings
        for sheet, columns in ((survey, survey_columns), (choices, choices_columns)):
            for column in columns.values():
                if sheet is None or column.key not in TRANSLATED:
                    continue
                code = self.language(sheet, column)
                if code is not None:
                    self.see_language(code)
        self.ignored_columns(survey, survey_columns)
        questions, bindings = self.read_survey(survey, survey_columns)
        choice_lists = self.read_choices(choices, choices_columns) if choices is not None else {}
        if self.fatal:
            return {}
        self.add_other_questions(questions)
        for key in ("title", "description"):
            for code in settings.get(key, {}):
                self.see_language(code)
        if self.default_language not in self.languages:
            self.languages.insert(0, self.default_language)
        for key in ("title", "description"):
            if settings.get(key):
                self.fill_default(settings[key], key, self.cells.get(key, "settings"))
        self.untranslated_warnings()
        definition: dict[str, Any] = {
            "id": settings.get("id", ""),
            "title": settings.get("title") or {self.default_language: settings.get("id", "")},
            "default_language": self.default_language,
        }
        if len(self.languages) > 1:
            definition["languages"] = list(self.languages)
        if settings.get("description"):
            definition["description"] = settings["description"]
        if choice_lists:
            definition["choice_lists"] = choice_lists
        definition["questions"] = questions
        for section in ("tags", "persons", "design"):
            if bindings[section]:
                definition[section] = bindings[section]
        for key in ("disclosure_threshold", "translations_awaiting_review"):
            if key in settings:
                definition.setdefault("settings", {})[key] = settings[key]
        if self.form:
            definition["form"] = dict(self.form)
        self.locate_all(definition)
        return definition

    def infer_default_language(self, survey_columns: Mapping[str, Column]) -> None:
        """Without a default_language setting: the language of the survey's first text column
        when every text column names its language, else English."""
        texts = [c for c in survey_columns.values() if c.key in TRANSLATED]
        if texts and all(c.language is not None for c in texts):
            code = language_code(texts[0].language or "")
            if code is not None:
                self.default_language = code

    def read_settings(self, survey_columns: Mapping[str, Column]) -> dict[str, Any]:
        sheet = self.sheet("settings")
        out: dict[str, Any] = {}
        raw_id = None
        row: Mapping[str, str] = sheet.rows[0] if sheet is not None and sheet.rows else {}
        columns = (
            classify(sheet.headers, aliases.settings_header, SETTINGS_PLAIN, SETTINGS_COLUMNS)
            if sheet is not None
            else {}
        )
        # the default language first: unsuffixed texts are in it
        for header, value in row.items():
            if sheet is not None and columns[header].key == "default_language":
                cell = sheet.cell(2, header)
                self.cells["default_language"] = self.cells["languages"] = cell
                code = language_code(value)
                if code is None:
                    self.problem(
                        cell,
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"default_language {value!r}: cannot tell the language code; "
                        "write it like 'English (en)'",
                    )
                else:
                    self.default_language = code
                    if language_named(value):
                        self.warning(
                            cell,
                            error_codes.XLSFORM_LANGUAGE_NAMED,
                            f"default_language {value.strip()!r} is taken to be the language "
                            f"{code!r}; write it like {language_column_name(code)!r} to say so",
                        )
                break
        else:
            self.infer_default_language(survey_columns)
        if sheet is not None:
            for index, extra in enumerate(sheet.rows[1:], start=3):
                if extra:
                    self.problem(
                        sheet.cell(index, next(iter(extra))),
                        error_codes.XLSFORM_INVALID_VALUE,
                        "the settings sheet takes one row of values (row 2)",
                    )
        for header, value in row.items():
            assert sheet is not None  # noqa: S101  # a row comes from the sheet
            column = columns[header]
            cell = sheet.cell(2, header)
            if column.key is None:
                self.warning(
                    cell,
                    error_codes.XLSFORM_IGNORED_SETTING,
                    f"setting {header!r} has no effect here and is not kept",
                )
            elif column.key == "public_key":
                self.problem(
                    cell,
                    error_codes.XLSFORM_ENCRYPTED,
                    "encrypted forms are not supported: the server checks every answer, so "
                    "it must be able to read them; delete the 'public_key' setting (answers "
                    "travel over HTTPS and are kept on the server)",
                )
            elif column.key in FORM_SETTINGS:
                self.cells["form"] = self.cells.setdefault(f"form.{column.key}", cell)
                if column.key == "clean_text_values":
                    flag = _yes_no(value)
                    if flag is None:
                        self.problem(
                            cell,
                            error_codes.XLSFORM_INVALID_VALUE,
                            f"clean_text_values is yes or no, not {value!r}",
                        )
                    else:
                        self.form[column.key] = flag
                else:
                    self.form[column.key] = value
            elif column.key in ("title", "description"):
                code = self.language(sheet, column)
                if code is None:
                    continue
                texts = out.setdefault(column.key, {})
                if code in texts and texts[code] != value:
                    self.problem(
                        cell,
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"two {column.key} columns give the {code!r} text",
                    )
                texts[code] = value
                self.cells[format_path([column.key, code])] = cell
                if code == self.default_language:
                    self.cells[column.key] = cell
                self.cells.setdefault(column.key, cell)
            elif column.key == "id":
                raw_id = value
                self.cells["id"] = cell
            elif column.key == "disclosure_threshold":
                self.cells["settings"] = self.cells["settings.disclosure_threshold"] = cell
                try:
                    out["disclosure_threshold"] = int(value)
                except ValueError:
                    self.problem(
                        cell,
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"disclosure_threshold {value!r} is not a whole number",
                    )
            elif column.key == "translations_awaiting_review":
                # language codes separated by spaces; the definition checker judges each
                self.cells["settings.translations_awaiting_review"] = cell
                self.cells.setdefault("settings", cell)
                out["translations_awaiting_review"] = value.split()
        if raw_id is None:
            raw_id = PurePath(self.filename).stem
            where = f"the file name {self.filename!r} (there is no settings form_id)"
            self.cells.setdefault("id", sheet.title if sheet is not None else "settings")
        else:
            where = f"form_id {raw_id!r}"
        slug = _slug(raw_id)
        if slug is None:
            self.problem(
                self.cells["id"],
                error_codes.XLSFORM_INVALID_VALUE,
                f"{where} cannot be a questionnaire id: use 3 to 64 ASCII letters, digits, "
                "'-' or '_', starting with a letter",
            )
            slug = "invalid-id"
        out["id"] = slug
        for key in ("default_language", "languages", "title", "settings"):
            self.cells.setdefault(key, sheet.title if sheet is not None else "settings")
        return out

    def key_columns(self, sheet: _Sheet, columns: Mapping[str, Column]) -> dict[str, str]:
        """Key -> the sheet's column for it (for texts, the default language's), so that a
        problem about a missing value points at the empty cell where it belongs."""
        if sheet.title in self.sheet_keys:
            return dict(self.sheet_keys[sheet.title])
        found: dict[str, str] = {}
        for header, column in columns.items():
            if column.key is None:
                continue
            if column.key in TRANSLATED and self.language(sheet, column) == self.default_language:
                found[column.key] = header
            else:
                found.setdefault(column.key, header)
        self.sheet_keys[sheet.title] = found
        return dict(found)

    def read_row(
        self, sheet: _Sheet, columns: Mapping[str, Column], row: Mapping[str, str], number: int
    ) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str], dict[str, str]]:
        """A row's plain values, translated texts, sub-path -> header, and other columns."""
        values: dict[str, str] = {}
        texts: dict[str, dict[str, str]] = {}
        where: dict[str, str] = self.key_columns(sheet, columns)
        others: dict[str, str] = {}
        for header, value in row.items():
            column = columns[header]
            if column.key is None:
                others[header] = value
            elif column.key in TRANSLATED:
                code = self.language(sheet, column)
                if code is None:
                    continue  # reported at the header
                text = texts.setdefault(column.key, {})
                if code in text and text[code] != value:
                    self.problem(
                        sheet.cell(number, header),
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"two {column.key} columns give the {code!r} text",
                    )
                text[code] = value
                where[format_path([column.key, code])] = header
            else:
                values[column.key] = value
                where[column.key] = header
        for key, text in texts.items():
            header = where.get(key) or where[format_path([key, next(iter(text))])]
            self.fill_default(text, key, sheet.cell(number, header))
        return values, texts, where, others

    def fill_default(self, text: dict[str, str], key: str, cell: str) -> None:
        """A text without the default language gets another language's text there (the
        definition needs it: it is what a phone shows when its language is missing); the
        cells are counted for one warning per column (`untranslated_warnings`)."""
        if not text or self.default_language in text:
            return
        source = next((code for code in self.languages if code in text), next(iter(text)))
        text[self.default_language] = text[source]
        sheet, _, _ = cell.partition("!")
        self.untranslated.setdefault((sheet, key), []).append(cell)

    def untranslated_warnings(self) -> None:
        for (_, key), cells in self.untranslated.items():
            listed = ", ".join(cells[:5]) + (", ..." if len(cells) > 5 else "")
            self.warning(
                cells[0],
                error_codes.XLSFORM_MISSING_TRANSLATION,
                f"{len(cells)} {key} cell(s) have no text in the default language "
                f"{self.default_language!r} ({listed}): another language's text is used "
                "there; translate them, or make default_language one every text has",
            )

    def read_survey(
        self, sheet: _Sheet, columns: Mapping[str, Column]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
        top: list[dict[str, Any]] = []
        # (kind, questions list, the begin row's where, attached to the tree?)
        stack: list[tuple[str, list[dict[str, Any]], _Where | None, bool]] = [
            ("survey", top, None, True)
        ]
        bindings: dict[str, dict[str, str]] = {"tags": {}, "persons": {}, "design": {}}
        type_header = next(h for h, c in columns.items() if c.key == "type")
        for index, row in enumerate(sheet.rows):
            number = index + 2
            if not row:
                continue
            values, texts, cols, others = self.read_row(sheet, columns, row, number)
            extras, _ = self.extras(sheet, columns, others)
            cols.setdefault("type", type_header)
            where = _Where(sheet, number, cols["type"], cols)
            type_text = _WHITESPACE.sub(" ", values.get("type", "").strip())
            name = values.get("name")
            if not type_text:
                if values or texts:
                    self.problem(
                        sheet.cell(number, type_header),
                        error_codes.XLSFORM_MISSING_TYPE,
                        "this row has no type (a row is one question, group or repeat)",
                    )
                continue
            end = RE_END_CONTROL.match(type_text)
            if end:
                kind = str(aliases.control[end.group("type")])
                extra = sorted(set(values) - {"type", "name"}) + sorted(texts)
                if extra:
                    self.problem(
                        where.cell(extra[0]),
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"an 'end {kind}' row takes no {extra[0]!r}",
                    )
                if len(stack) == 1 or stack[-1][0] != kind:
                    opened = f"'begin {stack[-1][0]}'" if len(stack) > 1 else "nothing"
                    self.problem(
                        where.cell("type"),
                        error_codes.XLSFORM_STRUCTURE,
                        f"'end {kind}' does not match the open {opened}",
                    )
                    self.fatal = True
                if len(stack) > 1:
                    stack.pop()  # taken as the end of the open one, not to report it again
                continue
            begin = RE_BEGIN_CONTROL.match(type_text)
            kind, refusal = self.question_type(type_text, begin)
            attached = stack[-1][3]
            if refusal is not None:
                code, message = refusal
                self.problem(where.cell("type"), code, message)
                if name:
                    self.refused_names.add(name)
                if begin:
                    stack.append((str(aliases.control[begin.group("type")]), [], where, False))
                continue
            if not attached and name:
                self.refused_names.add(name)
            question = self.question(kind, type_text, values, texts, where)
            if extras:
                question.update(extras)
                for header in others:
                    column = columns[header]
                    sub = column.tokens[0] if column.tokens[0] != "control" else "body"
                    cols.setdefault(sub, header)
            for key in COLUMN_ROLES:
                if key in values:
                    self.bind(key, values[key], name, where.cell(key), bindings)
            stack[-1][1].append(question)
            self.where[id(question)] = where
            if begin:
                stack.append((kind, question["questions"], where, attached))
        for kind, _, begun, _ in stack[1:]:
            assert begun is not None  # noqa: S101  # only the root has no row
            self.problem(
                begun.cell("type"), error_codes.XLSFORM_STRUCTURE, f"'begin {kind}' is never ended"
            )
            self.fatal = True
        return top, bindings

    def question_type(
        self, type_text: str, begin: re.Match[str] | None
    ) -> tuple[str, tuple[str, str] | None]:
        """Our type for a type cell, or the refusal (code, message)."""
        unsupported = error_codes.XLSFORM_UNSUPPORTED_TYPE
        if begin:
            control = str(aliases.control[begin.group("type")])
            if control not in ("group", "repeat") or begin.group("list_name"):
                return "", (unsupported, f"{type_text!r} is not supported: {SUPPORTED_TYPES_TEXT}")
            return control, None
        select = RE_SELECT.match(type_text)
        if select:
            command = select.group("select_command")
            list_name = select.group("list_name")
            kind = {
                "select one": "select_one",
                "select all that apply": "select_multiple",
                "rank": "rank",
            }.get(str(aliases.select[command]))
            if kind is None:
                return "", (unsupported, f"{command!r} is not supported: {SUPPORTED_TYPES_TEXT}")
            if command in aliases.select_from_file:
                # `select_one_from_file villages.csv`: choices from a CSV of the form's media
                if PurePath(list_name).suffix.lower() != ".csv" or select.group("specify_other"):
                    return "", (
                        unsupported,
                        f"{type_text!r}: only choices from a CSV file (without or_other) are "
                        "supported",
                    )
                return kind, None
            if PurePath(list_name).suffix or "${" in list_name:
                return "", (
                    unsupported,
                    f"{type_text!r}: choices from files or from other answers are not "
                    "supported; list the choices in the 'choices' sheet",
                )
            return kind, None
        if type_text in aliases.select:
            return "", (
                error_codes.XLSFORM_INVALID_VALUE,
                f"{type_text!r} needs a choice list name",
            )
        kind = SIMPLE_TYPES.get(type_text) or SIMPLE_TYPES.get(type_text.lower())
        if kind is None:
            return "", (
                unsupported,
                f"the question type {type_text!r} is not supported: {SUPPORTED_TYPES_TEXT}",
            )
        return kind, None

    def question(
        self,
        kind: str,
        type_text: str,
        values: Mapping[str, str],
        texts: Mapping[str, dict[str, str]],
        where: _Where,
    ) -> dict[str, Any]:
        raw: dict[str, Any] = {"type": kind}
        for key, value in values.items():
            if key in ("type", "dimension", "design"):
                continue
            if key == "required":
                flag = _yes_no(value)
                raw[key] = value if flag is None else flag
            elif key == "pii":
                flag = _yes_no(value)
                if flag is None:
                    self.problem(
                        where.cell(key),
                        error_codes.XLSFORM_INVALID_VALUE,
                        f"pii is yes or no, not {value!r}",
                    )
                else:
                    raw[key] = flag
            elif key == "default":
                raw[key] = _typed_default(kind, value)
            else:
                raw[key] = value
        raw.update(texts)
        self.ignore_checks(kind, raw, where)
        if kind in LIST_TYPES:
            select = RE_SELECT.match(type_text)
            assert select is not None  # noqa: S101  # question_type matched it
            from_file = select.group("select_command") in aliases.select_from_file
            raw["choices_file" if from_file else "choices"] = select.group("list_name")
            if select.group("specify_other") and kind in SELECT_TYPES:
                raw["or_other"] = True
        if kind in ("group", "repeat"):
            raw["questions"] = []
        order = {k: i for i, k in enumerate(_QUESTION_ORDER)}
        question = dict(sorted(raw.items(), key=lambda item: order.get(item[0], len(order))))
        for key in _EXPRESSION_KEYS:
            source = question.get(key)
            if not isinstance(source, str):
                continue
            try:
                parse(source)
            except ExpressionError as exc:
                fixed = _straight_quotes(source)
                if fixed != source and _parses(fixed):
                    question[key] = fixed
                    self.warning(
                        where.cell(key),
                        error_codes.XLSFORM_QUOTES_FIXED,
                        f"{key}: typographic quotes replaced by straight ones: {fixed!r}",
                    )
                    continue
                if exc.code == "unknown_function":
                    self.problem(
                        where.cell(key),
                        error_codes.XLSFORM_UNSUPPORTED_FUNCTION,
                        f"{key}: {exc.message}; the service evaluates expressions itself and "
                        "knows only the functions listed in docs/questionnaire-format.md",
                    )
                    self.reported.add((id(question), key))
        return question

    def ignore_checks(self, kind: str, raw: dict[str, Any], where: _Where) -> None:
        """`required` or `constraint` on a row nobody answers (a note, a group): pyxform
        accepts it and it means nothing, so it is dropped with a warning (`required: no`
        silently)."""
        allowed = allowed_keys(kind)
        for key in _CHECK_KEYS:
            if key not in raw or key in allowed:
                continue
            value = raw.pop(key)
            if key == "required" and value is False:
                continue
            self.warning(
                where.cell(key),
                error_codes.XLSFORM_IGNORED_VALUE,
                f"{key} has no effect on a {kind}, which nobody answers, and is not kept",
            )

    def bind(
        self,
        column: str,
        value: str,
        name: str | None,
        cell: str,
        bindings: dict[str, dict[str, str]],
    ) -> None:
        roles = COLUMN_ROLES[column]
        for role in value.split():
            section = roles.get(role)
            if section is None:
                self.problem(
                    cell,
                    error_codes.XLSFORM_INVALID_VALUE,
                    f"{column} {role!r} is not one of {', '.join(roles)}",
                )
            elif role in bindings[section]:
                self.problem(
                    cell,
                    error_codes.XLSFORM_INVALID_VALUE,
                    f"{column} {role!r} is already given by {bindings[section][role]!r} "
                    f"({self.cells[f'{section}.{role}']})",
                )
            elif name:
                bindings[section][role] = name
                self.cells[f"{section}.{role}"] = cell

    def read_choices(
        self, sheet: _Sheet, columns: Mapping[str, Column]
    ) -> dict[str, list[dict[str, Any]]]:
        lists: dict[str, list[dict[str, Any]]] = {}
        media = {h: c for h, c in columns.items() if c.media}
        for index, row in enumerate(sheet.rows):
            number = index + 2
            if not row:
                continue
            values, texts, cols, others = self.read_row(sheet, columns, row, number)
            list_name = values.get("list_name")
            header = cols.get("name") or next(iter(row))
            where = _Where(sheet, number, header, cols)
            if not list_name:
                self.problem(
                    sheet.cell(number, next(iter(row))),
                    error_codes.XLSFORM_INVALID_VALUE,
                    "this choice has no list_name",
                )
                continue
            choice: dict[str, Any] = {}
            if "name" in values:
                choice["name"] = values["name"]
                if not _PLAIN_CHOICE_NAME.match(values["name"]):
                    self.unusual_choice_name(values["name"], where.cell("name"))
            choice.update(texts)
            extras, _ = self.extras(sheet, columns, {h: v for h, v in others.items() if h in media})
            if "media" in extras:
                choice["media"] = extras["media"]
                for header in others:
                    if header in media:
                        cols.setdefault("media", header)
            properties = {}
            for h, v in others.items():
                if h in media:
                    continue
                if _PROPERTY_NAME.match(h):
                    properties[h] = v
                else:  # `tutorial notes`: a column for people, not a choice_filter property
                    self.warning(
                        sheet.cell(1, h),
                        error_codes.XLSFORM_IGNORED_COLUMN,
                        f"column {h!r} is not a name a choice_filter can use, so it is not kept",
                    )
            if properties:
                choice["properties"] = properties
                for h in properties:
                    cols[format_path(["properties", h])] = h
            lists.setdefault(list_name, []).append(choice)
            self.where[id(choice)] = where
            self.list_rows.setdefault(list_name, _Where(sheet, number, cols.get("list_name")))
        return lists

    def unusual_choice_name(self, name: str, cell: str) -> None:
        spaced = bool(_WHITESPACE.search(name))
        self.warning(
            cell,
            error_codes.XLSFORM_CHOICE_NAME,
            f"choice name {name!r} has characters other than ASCII letters, digits, '_', '.' "
            "and '-': kept as written, and an expression must quote it exactly"
            + (
                "; with a space, its list can serve select_one questions only (a "
                "select_multiple or rank answer lists names separated by spaces)"
                if spaced
                else ""
            ),
        )

    def add_other_questions(self, questions: list[dict[str, Any]]) -> None:
        """The text question pyxform adds after an `or_other` select, unless the sheet has one."""
        names = {q.get("name") for q in _walk(questions)}
        for siblings in _containers(questions):
            index = 0
            while index < len(siblings):
                question = siblings[index]
                index += 1
                name = question.get("name")
                if not question.get("or_other") or not name or f"{name}_other" in names:
                    continue
                other = other_question(name, self.default_language)
                siblings.insert(index, other)
                names.add(other["name"])
                self.where[id(other)] = self.where[id(question)]
                index += 1

    # -- locations

    def locate_all(self, definition: Mapping[str, Any]) -> None:
        def visit(items: Sequence[Any], base: list[str | int]) -> None:
            for position, item in enumerate(items):
                path = [*base, position]
                text = format_path(path)
                where = self.where.get(id(item))
                if where is not None:
                    self.index[text] = where
                for key in _EXPRESSION_KEYS:
                    if (id(item), key) in self.reported:
                        self.suppressed.add(f"{text}.{key}")
                children = item.get("questions") if isinstance(item, Mapping) else None
                if isinstance(children, list):
                    visit(children, [*path, "questions"])

        visit(definition.get("questions", []), ["questions"])
        for list_name, choices in definition.get("choice_lists", {}).items():
            visit(choices, ["choice_lists", list_name])
            row = self.list_rows.get(list_name)
            if row is not None:
                self.cells[format_path(["choice_lists", list_name])] = row.cell("list_name")

    def locate(self, path: str, message: str = "") -> str:
        """The cell a JSON path of the definition came from (the sheet when no better)."""
        prefixes = [path] + [path[:i] for i in range(len(path) - 1, 0, -1) if path[i] in ".["]
        for prefix in prefixes:
            where = self.index.get(prefix)
            if where is not None:
                return where.cell(path[len(prefix) :].lstrip("."), message)
            if prefix in self.cells:
                return self.cells[prefix]
        if path.startswith("choice_lists"):
            return "choices"
        return "survey"

    def translate(self, problems: Sequence[FieldError]) -> list[dict[str, str]]:
        out = []
        for problem in problems:
            if (
                problem.code == error_codes.DEFINITION_UNKNOWN_FUNCTION
                and problem.path in self.suppressed
            ):
                continue
            if problem.code == error_codes.DEFINITION_UNKNOWN_REFERENCE and any(
                f"${{{name}}}" in problem.message for name in self.refused_names
            ):
                continue  # the row it names was refused already
            message = _QUESTION_PATH_IN_MESSAGE.sub(
                lambda m: self.locate(m.group(0)), problem.message
            )
            path = self.locate(problem.path, problem.message)
            out.append(FieldError(path, problem.code, message).as_dict())
        return out

    def in_sheet_order(self, problems: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        """Problems by sheet (workbook order), row and column; whole-file ones first."""
        sheets = [str(s).lower() for s in (self.data.sheet_names or [])]

        def key(problem: dict[str, str]) -> tuple[int, int, int, str]:
            sheet, _, cell = problem["path"].partition("!")
            match = re.match(r"([A-Z]+)(\d+)$", cell)
            rank = sheets.index(sheet.lower()) + 1 if sheet.lower() in sheets else 0
            if match is None:
                return (rank, 0, 0, "")
            letters = match.group(1)
            return (rank, int(match.group(2)), len(letters), letters)

        return sorted(problems, key=key)


def _straight_quotes(source: str) -> str:
    """An expression with its typographic quotes (’ ‘ “ ”, from word processors) made straight,
    except inside a literal opened by a straight quote (`'l’eau'` stays)."""
    out: list[str] = []
    closing: str | None = None  # what ends the literal we are in
    for char in source:
        if closing is None:
            if char in "'\"":
                closing = char
            elif char in _TYPOGRAPHIC:
                char = _TYPOGRAPHIC[char]
                closing = "typographic" + char
            out.append(char)
            continue
        if closing.startswith("typographic") and _TYPOGRAPHIC.get(char, char) == closing[-1]:
            char = closing[-1]
            closing = None
        elif char == closing:
            closing = None
        out.append(char)
    return "".join(out)


_TYPOGRAPHIC: Final = {"’": "'", "‘": "'", "“": '"', "”": '"'}


def _parses(source: str) -> bool:
    try:
        parse(source)
    except ExpressionError:
        return False
    return True


def _typed_default(kind: str, value: str) -> str | int | float:
    """A default as read from a cell: a number for integer and decimal questions."""
    try:
        if kind == "integer":
            return int(value)
        if kind == "decimal":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
    except ValueError:
        pass
    return value


def _walk(questions: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for question in questions:
        yield question
        children = question.get("questions")
        if isinstance(children, list):
            yield from _walk(children)


def _containers(questions: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    yield questions
    for question in list(questions):
        children = question.get("questions")
        if isinstance(children, list):
            yield from _containers(children)


def _read_workbook(content: bytes, filename: str, limits: WorkbookLimits) -> Any:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise XLSFormError(
            [
                FieldError(
                    "",
                    error_codes.XLSFORM_UNREADABLE,
                    f"{filename!r} is not an XLSForm workbook: upload an .xlsx or .xls file",
                ).as_dict()
            ]
        )
    try:
        check_workbook(content, suffix, limits)
    except UnsafeWorkbook as exc:
        raise XLSFormError(
            [FieldError(exc.path, exc.code, f"{filename!r}: {exc.message}").as_dict()]
        ) from exc
    try:
        return get_xlsform(content, file_type=suffix)
    except (PyXFormError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise XLSFormError(
            [
                FieldError(
                    "",
                    error_codes.XLSFORM_UNREADABLE,
                    f"{filename!r} cannot be read as an {suffix} workbook: {exc}",
                ).as_dict()
            ]
        ) from exc


def definition_from_xlsform(
    content: bytes, filename: str, limits: WorkbookLimits = LIMITS
) -> dict[str, Any]:
    """The definition an XLSForm workbook describes (read_xlsform without the warnings)."""
    return read_xlsform(content, filename, limits)[0]


def read_xlsform(
    content: bytes, filename: str, limits: WorkbookLimits = LIMITS
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The definition an XLSForm workbook describes; raises XLSFormError listing every problem,
    or WorkbookTooLarge for a workbook over `limits` (checked before it is parsed).

    The file is read by pyxform's reader; every cell ends up in the definition or in a problem
    (`{"path": "survey!B12", "code": "xlsform.unsupported_type", "message": ...}`). The result
    has passed `check_definition` and pyxform builds an XForm from it. The warnings say what
    was accepted but ignored or guessed, each at its cell.
    """
    data = _read_workbook(content, filename, limits)
    reader = _Reader(data, _header_letters(content, PurePath(filename).suffix.lower()), filename)
    definition = reader.read()
    if reader.fatal:
        raise XLSFormError(reader.in_sheet_order(reader.problems))
    problems = reader.problems + reader.translate(check_definition(definition))
    if problems:
        raise XLSFormError(reader.in_sheet_order(problems))
    rejected = xform_problems(definition)
    if rejected:
        # a refusal pyxform gives at no question (path "") is put on the survey sheet
        raise XLSFormError(
            [FieldError(reader.locate(p.path), p.code, p.message).as_dict() for p in rejected]
        )
    return definition, reader.in_sheet_order(reader.warnings)
