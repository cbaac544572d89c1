"""Questionnaire definitions: complete checking on save and the typed tree the validator walks."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from survey_service import codes, error_codes
from survey_service.errors import FieldError
from survey_service.expressions import Expression, ExpressionError, parse
from survey_service.jsonutil import nested_deeper

ANSWERABLE_TYPES = frozenset(
    {"integer", "decimal", "text", "select_one", "select_multiple", "date", "datetime", "geopoint"}
    | {"time", "barcode", "range", "rank", "geotrace", "geoshape", "hidden"}
    | {"image", "audio", "video", "file", "background-audio"}
)
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
# types whose answers are names from a choice list (`rank`: all of them, in order)
LIST_TYPES = SELECT_TYPES | {"rank"}
MEDIA_TYPES = frozenset({"image", "audio", "video", "file", "background-audio"})
# filled in by the client, never asked: the interview's times, the device, the user
METADATA_TYPES = frozenset(
    {"start", "end", "today", "deviceid", "username", "phonenumber", "simserial"}
    | {"subscriberid", "email", "audit"}
)
# a button the respondent presses: the answer is the text "OK"
ACKNOWLEDGE_TYPES = frozenset({"acknowledge", "trigger"})
# secondary instances (attached data files) declared in the form, never answered
EXTERNAL_TYPES = frozenset({"xml-external", "csv-external"})
# types that take no label: nobody is asked them
UNLABELLED_TYPES = (
    METADATA_TYPES | EXTERNAL_TYPES | {"calculate", "hidden", "background-audio", "group", "repeat"}
)
EXPRESSION_KEYS = ("relevant", "constraint", "required", "calculation", "repeat_count")
RESERVED_NAMES = frozenset({"meta", "instance_id"})
TEXT_KEYS = ("label", "hint", "guidance_hint", "required_message", "constraint_message")

# Keys a question type may carry besides the common ones (_COMMON_KEYS).
_ANSWER_KEYS = frozenset(
    {"required", "required_message", "constraint", "constraint_message", "calculation", "default"}
)
_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    **{t: _ANSWER_KEYS for t in ANSWERABLE_TYPES - LIST_TYPES},
    **{
        t: _ANSWER_KEYS | {"choices", "choices_file", "choice_filter", "or_other"}
        for t in SELECT_TYPES
    },
    "rank": _ANSWER_KEYS | {"choices", "choice_filter"},
    **{t: _ANSWER_KEYS for t in ACKNOWLEDGE_TYPES},
    **dict.fromkeys(METADATA_TYPES, frozenset()),
    **dict.fromkeys(EXTERNAL_TYPES, frozenset()),
    "note": frozenset(),
    "calculate": frozenset({"calculation"}),
    "group": frozenset({"questions"}),
    "repeat": frozenset({"questions", "repeat_count"}),
}
_COMMON_KEYS = frozenset(
    {"name", "type", "label", "hint", "relevant", "pii", "appearance", "parameters"}
    | {"guidance_hint", "media", "bind", "body"}
)


def allowed_keys(kind: str) -> frozenset[str]:
    """The keys a question of type `kind` may carry (none for an unknown type)."""
    return _COMMON_KEYS | _ALLOWED_KEYS[kind] if kind in _ALLOWED_KEYS else frozenset()


_REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "rank": ("choices",),
    "calculate": ("calculation",),
    "group": ("questions",),
    "repeat": ("questions",),
}

_TAG_CODE_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "country": (codes.is_country_code, "ISO 3166-1 alpha-2 country codes"),
    "admin1": (codes.is_region_code, "ISO 3166-2 subdivision codes"),
    "hazard_type": (codes.is_hazard_code, "UNDRR-ISC Hazard Information Profile codes"),
    "displacement_status": (codes.is_displacement_status, "displacement status codes"),
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHITESPACE = re.compile(r"\s")
# types whose answer is a space-separated list of choice names in the XForm
_SPACE_SEPARATED_TYPES = frozenset({"select_multiple", "rank"})


class DefinitionError(ValueError):
    """A definition failed its checks; `problems` lists every one."""

    def __init__(self, problems: Sequence[FieldError]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the questionnaire definition")
        self.problems = list(problems)


def format_path(parts: Sequence[str | int]) -> str:
    """Render path parts as `questions[3].label.en` (bracketed quotes for odd keys)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def content_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a definition: equal content, equal hash."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@cache
def definition_schema() -> dict[str, Any]:
    """The JSON Schema of definitions shipped in the package."""
    text = resources.files(__package__).joinpath("definition.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(definition_schema())


def _schema_problems(data: Any) -> list[FieldError]:
    problems = []
    for error in _schema_validator().iter_errors(data):
        path: list[str | int] = list(error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed):
                problems.append(
                    FieldError(
                        format_path([*path, key]),
                        error_codes.DEFINITION_SCHEMA,
                        f"unknown key {key!r}",
                    )
                )
            continue
        if error.validator == "required" and isinstance(error.validator_value, list):
            missing = [k for k in error.validator_value if k not in error.instance]
            for key in missing:
                problems.append(
                    FieldError(
                        format_path([*path, key]),
                        error_codes.DEFINITION_SCHEMA,
                        f"{key!r} is required",
                    )
                )
            continue
        problems.append(FieldError(format_path(path), error_codes.DEFINITION_SCHEMA, message))
    return problems


# --------------------------------------------------------------------------------------------
# The typed tree


@dataclass(frozen=True)
class Choice:
    """One choice of a list; `properties` are the extra columns a choice_filter can test."""

    name: str
    label: Mapping[str, str]
    properties: Mapping[str, str]


@dataclass(eq=False)
class Question:
    """A question node; groups and repeats hold their children in `questions`."""

    name: str
    type: str
    raw: Mapping[str, Any]
    json_path: str
    parent: Question | None
    questions: list[Question] = field(default_factory=list)
    expressions: dict[str, Expression] = field(default_factory=dict)

    @property
    def repeat(self) -> Question | None:
        """The innermost repeat containing this question (not itself)."""
        node = self.parent
        while node is not None and node.type != "repeat":
            node = node.parent
        return node

    @property
    def label(self) -> Mapping[str, str]:
        label: Mapping[str, str] = self.raw.get("label", {})
        return label

    @property
    def choice_list(self) -> str | None:
        """The name of its choice list: a list of the definition, or a CSV file of the
        version's media (`choices_file`), whose choices are added when the version's files
        are read (`Definition.with_file_choices`)."""
        value = self.raw.get("choices", self.raw.get("choices_file"))
        return value if isinstance(value, str) else None

    @property
    def choices_file(self) -> str | None:
        value = self.raw.get("choices_file")
        return value if isinstance(value, str) else None

    @property
    def pii(self) -> bool:
        return bool(self.raw.get("pii", False))


@dataclass
class Definition:
    """A checked questionnaire definition: the question tree, choice lists and bindings."""

    raw: Mapping[str, Any]
    questions: list[Question]
    by_name: dict[str, Question]
    choice_lists: dict[str, list[Choice]]
    tags: dict[str, str]
    design: dict[str, str]
    persons: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def default_language(self) -> str:
        return str(self.raw["default_language"])

    @property
    def languages(self) -> list[str]:
        return list(self.raw.get("languages") or [self.default_language])

    def walk(self) -> Iterator[Question]:
        """Every question, depth first in document order."""
        return walk_questions(self.questions)

    @property
    def choices_files(self) -> list[str]:
        """The CSV files of the version's media that select questions take choices from."""
        return list(dict.fromkeys(q.choices_file for q in self.walk() if q.choices_file))

    @property
    def pulldata_tables(self) -> list[str]:
        """The instance names that pulldata() calls name literally (`villages` reads the
        version's villages.csv), in document order."""
        names: dict[str, None] = {}
        for question in self.walk():
            for expression in question.expressions.values():
                if "pulldata" in expression.functions:
                    names.update(dict.fromkeys(_PULLDATA.findall(expression.source)))
        return list(names)

    def with_file_choices(self, tables: Mapping[str, Sequence[Mapping[str, str]]]) -> Definition:
        """A copy whose choice lists hold the choices of each CSV file in `tables` (rows by
        column name): `name`, `label` (the default language) and `label::xx` make the choice,
        every other column is a property a choice_filter can test."""
        lists = dict(self.choice_lists)
        for filename, rows in tables.items():
            lists[filename] = [_file_choice(row, self.default_language) for row in rows]
        return replace(self, choice_lists=lists)

    def choice_names(self, question: Question) -> frozenset[str]:
        """The names a select question accepts (its list, plus `other` with or_other)."""
        names = {c.name for c in self.choice_lists.get(question.choice_list or "", [])}
        if question.raw.get("or_other"):
            names.add("other")
        return frozenset(names)


_PULLDATA = re.compile(r"""pulldata\s*\(\s*['"]([^'"]+)['"]""")


def _file_choice(row: Mapping[str, str], default_language: str) -> Choice:
    """A choice from a row of a choices CSV file."""
    label: dict[str, str] = {}
    properties: dict[str, str] = {}
    for column, value in row.items():
        if column == "label":
            label.setdefault(default_language, value)
        elif column.startswith("label::"):
            language = column.removeprefix("label::").strip()
            match = re.search(r"\(([A-Za-z-]+)\)\s*$", language)  # "English (en)"
            label[match.group(1) if match else language] = value
        elif column != "name":
            properties[column] = value
    return Choice(name=row.get("name", ""), label=label, properties=properties)


def walk_questions(questions: Sequence[Question]) -> Iterator[Question]:
    """Every question of a tree, depth first in document order."""
    stack = list(reversed(questions))
    while stack:
        question = stack.pop()
        yield question
        stack.extend(reversed(question.questions))


def _build_tree(
    items: Sequence[Any], parent: Question | None, base: list[str | int]
) -> list[Question]:
    nodes = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        path = [*base, index]
        node = Question(
            name=str(item.get("name", "")),
            type=str(item.get("type", "")),
            raw=item,
            json_path=format_path(path),
            parent=parent,
        )
        children = item.get("questions")
        if isinstance(children, list):
            node.questions = _build_tree(children, node, [*path, "questions"])
        nodes.append(node)
    return nodes


# --------------------------------------------------------------------------------------------
# Semantic checks


class _Checker:
    """Collects every semantic problem of a structurally valid-enough definition."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[FieldError] = []
        default = data.get("default_language")
        self.default_language = default if isinstance(default, str) else None
        declared = data.get("languages")
        if isinstance(declared, list) and declared:
            self.languages = {x for x in declared if isinstance(x, str)}
        else:
            self.languages = {self.default_language} if self.default_language else set()
        raw_questions = data.get("questions")
        self.questions = _build_tree(
            raw_questions if isinstance(raw_questions, list) else [], None, ["questions"]
        )
        self.by_name: dict[str, Question] = {}
        self.spaceless_checked: set[str] = set()  # lists whose names were checked for spaces
        self.choice_lists: dict[str, list[Choice]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.problems.append(FieldError(path, code, message))

    def run(self) -> None:
        if (
            self.default_language
            and isinstance(self.data.get("languages"), list)
            and self.default_language not in self.languages
        ):
            self.add(
                "languages",
                error_codes.DEFINITION_MISSING_TRANSLATION,
                f"the default language {self.default_language!r} is not among the languages",
            )
        for key in ("title", "description"):
            self.check_text(self.data.get(key), key)
        self.check_awaiting_review()
        self.check_choice_lists()
        self.check_names()
        for question in self.walk():
            self.check_question(question)
        self.check_cycles()
        self.check_bindings()
        self.check_persons()

    def walk(self) -> Iterator[Question]:
        return walk_questions(self.questions)

    def check_text(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping) or not self.default_language:
            return
        if self.default_language not in value:
            self.add(
                path,
                error_codes.DEFINITION_MISSING_TRANSLATION,
                f"no text in the default language {self.default_language!r}",
            )
        for language in value:
            if language not in self.languages:
                self.add(
                    f"{path}.{language}" if _IDENTIFIER.match(language) else path,
                    error_codes.DEFINITION_MISSING_TRANSLATION,
                    f"language {language!r} is not declared in `languages`",
                )

    def check_awaiting_review(self) -> None:
        """A language marked as awaiting review must be one the questionnaire offers."""
        settings = self.data.get("settings")
        marked = (
            settings.get("translations_awaiting_review") if isinstance(settings, Mapping) else None
        )
        if not isinstance(marked, list):
            return  # absent, or the schema reported it
        for index, language in enumerate(marked):
            if isinstance(language, str) and language not in self.languages:
                self.add(
                    f"settings.translations_awaiting_review[{index}]",
                    error_codes.DEFINITION_MISSING_TRANSLATION,
                    f"language {language!r} is not declared in `languages`",
                )

    def check_choice_lists(self) -> None:
        lists = self.data.get("choice_lists")
        if not isinstance(lists, Mapping):
            return
        for list_name, items in lists.items():
            if not isinstance(items, list):
                continue
            seen: set[str] = set()
            choices = []
            for index, item in enumerate(items):
                if not isinstance(item, Mapping):
                    continue
                path = format_path(["choice_lists", str(list_name), index])
                name = item.get("name")
                if isinstance(name, str):
                    if name in seen:
                        self.add(
                            f"{path}.name",
                            error_codes.DEFINITION_DUPLICATE_NAME,
                            f"choice {name!r} appears twice in list {list_name!r}",
                        )
                    seen.add(name)
                self.check_text(item.get("label"), f"{path}.label")
                if "label" not in item and not _has_media_label(item):
                    self.add(
                        f"{path}.label",
                        error_codes.DEFINITION_MISSING_PROPERTY,
                        "a choice needs a label (a text, or an image, audio or video)",
                    )
                label, properties = item.get("label"), item.get("properties")
                choices.append(
                    Choice(
                        name=str(name),
                        label=label if isinstance(label, Mapping) else {},
                        properties=properties if isinstance(properties, Mapping) else {},
                    )
                )
            self.choice_lists[str(list_name)] = choices

    def check_spaceless(self, question: Question, list_name: str) -> None:
        """The names of a list a select_multiple or rank question uses have no space: the
        answer lists the names separated by spaces (in the XForm, and so from the phone)."""
        if list_name in self.spaceless_checked:
            return
        self.spaceless_checked.add(list_name)
        for index, choice in enumerate(self.choice_lists[list_name]):
            if _WHITESPACE.search(choice.name):
                self.add(
                    format_path(["choice_lists", list_name, index]) + ".name",
                    error_codes.DEFINITION_INVALID_CHOICE_NAME,
                    f"choice {choice.name!r} has a space, but the {question.type} question "
                    f"{question.name!r} uses list {list_name!r}, and its answer lists the "
                    "chosen names separated by spaces: write '_' instead",
                )

    def check_names(self) -> None:
        for question in self.walk():
            if not question.name:
                continue
            if question.name in RESERVED_NAMES:
                self.add(
                    f"{question.json_path}.name",
                    error_codes.DEFINITION_RESERVED_NAME,
                    f"{question.name!r} is reserved",
                )
            first = self.by_name.get(question.name)
            if first is not None:
                self.add(
                    f"{question.json_path}.name",
                    error_codes.DEFINITION_DUPLICATE_NAME,
                    f"name {question.name!r} is already used at {first.json_path}",
                )
            else:
                self.by_name[question.name] = question

    def check_question(self, question: Question) -> None:
        raw = question.raw
        kind = question.type
        if kind not in _ALLOWED_KEYS:
            return  # the schema already reported the unknown type
        for key in TEXT_KEYS:
            self.check_text(raw.get(key), f"{question.json_path}.{key}")
        allowed = _COMMON_KEYS | _ALLOWED_KEYS[kind]
        for key in raw:
            if key not in allowed and key in definition_schema()["$defs"]["question"]["properties"]:
                self.add(
                    f"{question.json_path}.{key}",
                    error_codes.DEFINITION_INVALID_PROPERTY,
                    f"{key!r} does not apply to a {kind} question",
                )
        for key in _REQUIRED_KEYS.get(kind, ()):
            if key not in raw:
                self.add(
                    f"{question.json_path}.{key}",
                    error_codes.DEFINITION_MISSING_PROPERTY,
                    f"a {kind} question needs {key!r}",
                )
        if kind not in UNLABELLED_TYPES and "label" not in raw and not _has_media_label(raw):
            self.add(
                f"{question.json_path}.label",
                error_codes.DEFINITION_MISSING_PROPERTY,
                f"a {kind} question needs a label",
            )
        if kind == "range":
            try:
                range_parameters(raw.get("parameters"))
            except ValueError as exc:
                self.add(
                    f"{question.json_path}.parameters", error_codes.DEFINITION_SCHEMA, str(exc)
                )
        if kind in SELECT_TYPES and ("choices" in raw) == ("choices_file" in raw):
            self.add(
                f"{question.json_path}.choices",
                error_codes.DEFINITION_MISSING_PROPERTY
                if "choices" not in raw
                else error_codes.DEFINITION_INVALID_PROPERTY,
                f"a {kind} question needs 'choices' (a list) or 'choices_file' (a CSV file "
                "of the form's media), one of them",
            )
        list_name = raw.get("choices")
        known_list = isinstance(list_name, str) and list_name in self.choice_lists
        if kind in LIST_TYPES and isinstance(list_name, str) and not known_list:
            self.add(
                f"{question.json_path}.choices",
                error_codes.DEFINITION_UNKNOWN_CHOICE_LIST,
                f"no choice list named {list_name!r}",
            )
        if known_list and kind in _SPACE_SEPARATED_TYPES:
            self.check_spaceless(question, str(list_name))
        keys = (*EXPRESSION_KEYS, "choice_filter")
        for key in keys:
            source = raw.get(key)
            if isinstance(source, str) and key in allowed:
                self.check_expression(question, key, source)

    def check_expression(self, question: Question, key: str, source: str) -> None:
        path = f"{question.json_path}.{key}"
        try:
            expression = parse(source)
        except ExpressionError as exc:
            code = (
                error_codes.DEFINITION_UNKNOWN_FUNCTION
                if exc.code in ("unknown_function", "arity")
                else error_codes.DEFINITION_EXPRESSION_SYNTAX
            )
            self.add(path, code, exc.message)
            return
        question.expressions[key] = expression
        for name in sorted(expression.references):
            if name not in self.by_name:
                self.add(
                    path, error_codes.DEFINITION_UNKNOWN_REFERENCE, f"${{{name}}} names no question"
                )
        if key == "choice_filter":
            properties = {"name", "label"}
            for choice in self.choice_lists.get(question.choice_list or "", []):
                properties.update(choice.properties)
            # a file's columns are known only once it is attached: any name may be one
            unknown = set() if question.choices_file else expression.bare_names - properties
            for name in sorted(unknown):
                self.add(
                    path,
                    error_codes.DEFINITION_UNKNOWN_REFERENCE,
                    f"{name!r} is not a property of the choices in list {question.choice_list!r}",
                )
        else:
            for name in sorted(expression.bare_names):
                self.add(
                    path,
                    error_codes.DEFINITION_UNKNOWN_REFERENCE,
                    f"bare name {name!r} outside a choice_filter (did you mean ${{{name}}}?)",
                )

    def check_cycles(self) -> None:
        depends: dict[str, set[str]] = {}
        for question in self.walk():
            expression = question.expressions.get("calculation")
            if expression is not None:
                depends[question.name] = set(expression.references)
        visiting: list[str] = []
        done: set[str] = set()
        reported: set[frozenset[str]] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            if name in visiting:
                cycle = visiting[visiting.index(name) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    chain = " → ".join(f"${{{n}}}" for n in [*cycle, name])
                    self.add(
                        f"{self.by_name[name].json_path}.calculation",
                        error_codes.DEFINITION_CALCULATION_CYCLE,
                        f"calculations depend on each other in a cycle: {chain}",
                    )
                return
            visiting.append(name)
            for target in sorted(depends.get(name, ())):
                if target in depends:
                    visit(target)
            visiting.pop()
            done.add(name)

        for name in depends:
            visit(name)

    def check_bindings(self) -> None:
        for section in ("tags", "design"):
            bindings = self.data.get(section)
            if not isinstance(bindings, Mapping):
                continue
            for role, name in bindings.items():
                if isinstance(name, str):
                    self.check_binding(section, str(role), name)

    def check_binding(self, section: str, role: str, name: str) -> None:
        path = f"{section}.{role}"
        question = self.by_name.get(name)
        if question is None:
            self.add(path, error_codes.DEFINITION_INVALID_BINDING, f"no question named {name!r}")
            return
        if section == "tags":
            allowed_types: frozenset[str] = frozenset({"select_one", "calculate"})
        elif role == "weight":
            allowed_types = frozenset({"decimal", "integer", "calculate"})
        else:
            allowed_types = frozenset(
                {"integer", "decimal", "text", "select_one", "calculate", "date"}
            )
        if question.type not in allowed_types:
            self.add(
                path,
                error_codes.DEFINITION_INVALID_BINDING,
                f"{role} must be bound to a {' or '.join(sorted(allowed_types))} question, "
                f"not {name!r} ({question.type})",
            )
            return
        if question.repeat is not None:
            self.add(
                path,
                error_codes.DEFINITION_INVALID_BINDING,
                f"{name!r} is inside the repeat {question.repeat.name!r}: "
                "a household has one value",
            )
            return
        if section == "tags" and question.type == "select_one":
            check, what = _TAG_CODE_CHECKS[role]
            bad = [c.name for c in self.choice_lists.get(question.choice_list or "", [])]
            bad = [c for c in bad if not check(c)]
            if bad:
                self.add(
                    path,
                    error_codes.DEFINITION_INVALID_BINDING,
                    f"the {role} tag takes {what}; list {question.choice_list!r} has "
                    + ", ".join(repr(c) for c in bad[:10])
                    + (" ..." if len(bad) > 10 else ""),
                )

    def check_persons(self) -> None:
        """`persons`: the sex (select_one) and age (integer) of the people of one roster."""
        bindings = self.data.get("persons")
        if not isinstance(bindings, Mapping):
            return
        rosters = set()
        for role, wanted in (("sex", "select_one"), ("age", "integer")):
            name = bindings.get(role)
            if not isinstance(name, str):
                continue
            question = self.by_name.get(name)
            path = f"persons.{role}"
            if question is None:
                self.add(
                    path, error_codes.DEFINITION_INVALID_BINDING, f"no question named {name!r}"
                )
            elif question.type != wanted:
                self.add(
                    path,
                    error_codes.DEFINITION_INVALID_BINDING,
                    f"{role} must be bound to a {wanted} question, not {name!r} ({question.type})",
                )
            elif question.repeat is None:
                self.add(
                    path,
                    error_codes.DEFINITION_INVALID_BINDING,
                    f"{name!r} is not inside a repeat: persons are the instances of a roster",
                )
            else:
                rosters.add(question.repeat.name)
        if len(rosters) > 1:
            self.add(
                "persons",
                error_codes.DEFINITION_INVALID_BINDING,
                "sex and age must be questions of the same repeat, not of "
                + " and ".join(repr(r) for r in sorted(rosters)),
            )


RANGE_DEFAULTS = {"start": 1.0, "end": 10.0, "step": 1.0}  # pyxform's


def parameters(text: Any) -> dict[str, str]:
    """A question's `parameters` cell as key -> value (`start=0 end=10` or `start=0;end=10`)."""
    if not isinstance(text, str):
        return {}
    out = {}
    for part in re.split(r"[\s;,]+", text.strip()):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def range_parameters(text: Any) -> tuple[float, float, float]:
    """The start, end and step of a range question; ValueError saying what is wrong."""
    given = parameters(text)
    values = dict(RANGE_DEFAULTS)
    for key in values:
        if key in given:
            try:
                values[key] = float(given[key])
            except ValueError:
                raise ValueError(f"range {key} {given[key]!r} is not a number") from None
    start, end, step = values["start"], values["end"], values["step"]
    if not all(map(math.isfinite, (start, end, step))) or step == 0:
        raise ValueError("a range needs a finite start and end and a non-zero step")
    if (end - start) / step < 0:
        raise ValueError(f"a range from {start:g} to {end:g} cannot go by {step:g}")
    return start, end, step


def _has_media_label(raw: Mapping[str, Any]) -> bool:
    """Whether a question shows an image, audio or video in place of a label text."""
    media = raw.get("media")
    return isinstance(media, Mapping) and any(k in media for k in ("image", "audio", "video"))


# arrays and objects in a definition (a group within a group adds two levels): checking
# deeper ones would exhaust Python's stack in the schema validator, and no form needs them
MAX_DEPTH = 64


def _check(data: Any) -> tuple[list[FieldError], _Checker | None]:
    if not isinstance(data, Mapping):
        return [
            FieldError("", error_codes.DEFINITION_SCHEMA, "a definition is a JSON object")
        ], None
    if nested_deeper(data, MAX_DEPTH):
        message = f"arrays and objects nested more than {MAX_DEPTH} levels deep"
        return [FieldError("", error_codes.DEFINITION_TOO_DEEP, message)], None
    checker = _Checker(data)
    checker.run()
    # schema problems first, then semantic ones, each once, in document order
    problems = list(dict.fromkeys([*_schema_problems(data), *checker.problems]))
    return problems, checker


def check_definition(data: Any) -> list[FieldError]:
    """Every problem of a definition, schema and semantics together."""
    return _check(data)[0]


def load_definition(data: Any) -> Definition:
    """Check `data` and return its typed tree; raises DefinitionError listing every problem."""
    problems, checker = _check(data)
    if problems or checker is None:
        raise DefinitionError(problems)
    return Definition(
        raw=data,
        questions=checker.questions,
        by_name=checker.by_name,
        choice_lists=checker.choice_lists,
        tags=dict(data.get("tags") or {}),
        design=dict(data.get("design") or {}),
        persons=dict(data.get("persons") or {}),
    )
