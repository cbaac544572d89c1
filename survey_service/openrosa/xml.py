"""OpenRosa XML: submitted instances parsed safely into answers JSON, and the XML we send back."""

from __future__ import annotations

import datetime
import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 -- builds trees and documents; defusedxml parses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from survey_service import error_codes
from survey_service.errors import FieldError
from survey_service.questionnaire.definition import Definition, Question

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORM_LIST_NS",
    "JAVAROSA_NS",
    "MANIFEST_NS",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "OPENROSA_HEADERS",
    "ORX_NS",
    "RESPONSE_NS",
    "XML_CONTENT_TYPE",
    "FormEntry",
    "Instance",
    "InstanceError",
    "MediaEntry",
    "form_list_xml",
    "instance_xml",
    "manifest_xml",
    "openrosa_response",
    "parse_instance",
]

FORM_LIST_NS: Final = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS: Final = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS: Final = "http://openrosa.org/http/response"
JAVAROSA_NS: Final = "http://openrosa.org/javarosa"
ORX_NS: Final = "http://openrosa.org/xforms"

OPENROSA_HEADERS: Final[dict[str, str]] = {"X-OpenRosa-Version": "1.0"}
"""Headers every OpenRosa response carries (copy the dict before adding to it)."""
XML_CONTENT_TYPE: Final = "text/xml; charset=utf-8"
"""The content type of every document built here."""

DEFAULT_MAX_BYTES: Final = 10_000_000
MAX_DEPTH: Final = 64
"""The deepest element nesting accepted in an instance (questionnaires nest a few levels)."""
MAX_ELEMENTS: Final = 100_000
"""The most elements accepted in an instance (a large household has a few hundred)."""


_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_TEMPLATE_ATTRIBUTE: Final = f"{{{JAVAROSA_NS}}}template"
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_VERSION: Final = re.compile(r"[0-9]{1,18}")
# As the server validator reads dates and date-times (survey_service.validation.answers).
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
)
_XML_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_DIGITS: Final = 400  # beyond any double; int() of longer texts is slow or refused
_LARGEST_FLOAT_INT: Final = int(1.7976931348623157e308)
_GEOPOINT_KEYS: Final = ("lat", "lon", "alt", "accuracy")
_WHITESPACE: Final = " \t\r\n"  # XML white space; other Unicode spaces are data
_SPACES: Final = re.compile("[ \t\r\n]+")


class InstanceError(ValueError):
    """A submitted instance the server cannot read: a stable `code` and a short `message`.

    The message is written for the enumerator: the HTTP layer puts it in the OpenRosa
    response, which ODK Collect and Enketo show on screen.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Instance:
    """A parsed submission: identity, the answers in our JSON shape, and what went wrong.

    `problems` lists every value that could not be converted (code `response.invalid_type`,
    path as the validator writes it: `household.members[0].member_age`); the raw text stays in
    `answers`, so the validator reports the same path and code. It also lists elements sent
    twice where the questionnaire has one answer (`openrosa.duplicate_element`; the first is
    kept), which the validator cannot see.
    """

    form_id: str
    version: int | None
    instance_id: str
    deprecated_id: str | None
    answers: dict[str, Any]
    attachments: list[str]
    problems: list[dict[str, str]]
    instance_name: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    """Every non-empty leaf of meta by name (instanceID, timeStart, audit, ...)."""


@dataclass(frozen=True)
class FormEntry:
    """One form of a formList: `hash` is the MD5 hex digest of the XForm (`md5:` optional)."""

    form_id: str
    name: str
    version: str | None
    hash: str
    download_url: str
    manifest_url: str | None = None


@dataclass(frozen=True)
class MediaEntry:
    """One media file of a manifest: `hash` is the MD5 hex digest (`md5:` optional)."""

    filename: str
    hash: str
    download_url: str


# --------------------------------------------------------------------------- parsing


def parse_instance(
    xml: bytes,
    definition: Definition | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    media_names: Collection[str] = (),
    resolve: Callable[[str, int | None], Definition | None] | None = None,
) -> Instance:
    """Read a submitted instance (ODK Collect, Enketo, KoboCollect) safely.

    Refused with InstanceError (`openrosa.` codes): over `max_bytes` or MAX_ELEMENTS
    (too_large), nested deeper than MAX_DEPTH (too_deep), any DTD or entity declaration
    (forbidden_xml), not well-formed (malformed_xml), encrypted (encrypted), no id attribute
    on a root named `data` (missing_form_id), no meta/instanceID (missing_instance_id), and,
    with a definition, data of another form (form_mismatch).

    Elements match by local name whatever their namespace (`orx:meta` is `meta`); jr:template
    copies and the top-level meta are not answers. Without a definition the answers are
    nested dicts of strings (siblings sharing a name become a list). With one:

    - empty (or XML-white-space) elements are unanswered and left out, as are notes, groups
      with no answer and repeats whose every instance is empty (an empty instance among
      answered ones stays, as `{}`, to keep positions); a repeat is an array even of one;
    - integer: int; decimal: int for an integer literal, float otherwise ("5" is 5, "5.0" is
      5.0); geopoint "lat lon [alt [accuracy]]": {"lat", "lon", "alt", "accuracy"} of numbers
      read the same way; geotrace and geoshape "lat lon alt acc;lat lon alt acc;...": a list
      of such points; select_one and calculate: the trimmed text; select_multiple: the
      space-separated names as a list; text: exactly as sent;
    - an `audit` question (pyxform's meta/audit, the audit log's file name): the text of
      meta/audit when the instance has no element of the question's own;
    - date and datetime: the trimmed text as sent, not normalised (checked as the validator
      reads them: "Z", "+06:00", "+0600" and fractions of a second are all kept verbatim);
    - a value that cannot be converted stays in `answers` as its trimmed text (so the
      validator reports it) and is listed in `problems` with the same path and code;
    - elements the definition does not know are kept, read as without a definition, so that
      the validator reports `response.unknown_field`.

    `media_names` are the uploaded file names: every element text equal to one of them is an
    attachment (document order, once each). `resolve`, instead of `definition`, is called
    with the form id and version once they are read (OpenRosa's /submission names the form
    only inside the XML) and returns the definition to convert with, or None; it may raise.
    """
    if definition is not None and resolve is not None:
        raise TypeError("pass a definition or a resolver, not both")
    if len(xml) > max_bytes:
        raise InstanceError(
            error_codes.OPENROSA_TOO_LARGE,
            f"The form data is larger than this server accepts ({max_bytes:,} bytes).",
        )
    root = _parse(xml)
    if root.get("encrypted", "").strip(_WHITESPACE).lower() in ("yes", "true"):
        raise InstanceError(
            error_codes.OPENROSA_ENCRYPTED,
            "Encrypted submissions are not accepted: send the form without encryption.",
        )
    name = _local(root.tag)
    form_id = (root.get("id") or "").strip(_WHITESPACE) or (name if name != "data" else "")
    if not form_id:
        raise InstanceError(
            error_codes.OPENROSA_MISSING_FORM_ID,
            "The form data does not say which form it belongs to (no id attribute).",
        )
    version = _version(root)
    if resolve is not None:
        definition = resolve(form_id, version)
    if definition is not None and form_id != definition.id:
        raise InstanceError(
            error_codes.OPENROSA_FORM_MISMATCH,
            f"This data is for the form {_shorten(form_id)!r}, not {definition.id!r}.",
        )
    meta_element = next((c for c in _children(root) if _local(c.tag) == "meta"), None)
    meta = _meta(meta_element)
    instance_id = meta.get("instanceID", "")
    if not instance_id:
        raise InstanceError(
            error_codes.OPENROSA_MISSING_INSTANCE_ID,
            "The form data has no instance ID (meta/instanceID): update the form and resend.",
        )
    converter = _Converter()
    if definition is None:
        answers = converter.generic_children(root, skip=meta_element)
    else:
        answers = converter.group(root, definition.questions, "", skip=meta_element)
        for question in definition.questions:
            if question.type == "audit" and "audit" in meta:
                answers.setdefault(question.name, meta["audit"])
    return Instance(
        form_id=form_id,
        version=version,
        instance_id=instance_id,
        deprecated_id=meta.get("deprecatedID"),
        answers=answers,
        attachments=_attachments(root, media_names),
        problems=converter.problems,
        instance_name=meta.get("instanceName"),
        meta=meta,
    )


def _parse(xml: bytes) -> ET.Element:
    parser = DefusedXMLParser(
        target=_Builder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(xml)
        root: ET.Element = parser.close()
    except InstanceError:
        raise
    except DefusedXmlException:
        raise InstanceError(
            error_codes.OPENROSA_FORBIDDEN_XML,
            "The form data declares a DTD or entities, which this server does not accept.",
        ) from None
    except ParseError as exc:
        raise InstanceError(
            error_codes.OPENROSA_MALFORMED_XML, f"The form data is not well-formed XML ({exc})."
        ) from None
    except (ValueError, LookupError) as exc:  # an encoding the parser does not know
        raise InstanceError(
            error_codes.OPENROSA_MALFORMED_XML, f"The form data cannot be read as XML ({exc})."
        ) from None
    return root


class _Builder(ET.TreeBuilder):
    """Builds the tree as the parser reads, refusing too deep or too many elements early."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.count = 0

    def start(self, tag: Any, attrs: dict[str, str], /) -> ET.Element:
        self.depth += 1
        self.count += 1
        if self.depth > MAX_DEPTH:
            raise InstanceError(
                error_codes.OPENROSA_TOO_DEEP,
                f"The form data nests elements deeper than {MAX_DEPTH} levels.",
            )
        if self.count > MAX_ELEMENTS:
            raise InstanceError(
                error_codes.OPENROSA_TOO_LARGE,
                f"The form data has more than {MAX_ELEMENTS:,} elements.",
            )
        return super().start(tag, attrs)

    def end(self, tag: Any, /) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def _shorten(text: str, limit: int = 40) -> str:
    """Sent text quoted in a message, cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _local(tag: str) -> str:
    """A tag or attribute name without its namespace: `{http://...}meta` is `meta`."""
    return tag.rpartition("}")[2]


def _children(element: ET.Element) -> list[ET.Element]:
    """The child elements that carry data: jr:template copies of repeats are left out."""
    return [c for c in element if _TEMPLATE_ATTRIBUTE not in c.attrib]


def _blank(text: str | None) -> bool:
    """Whether an element's text is empty or XML white space only (an unanswered question)."""
    return text is None or not text.strip(_WHITESPACE)


def _version(root: ET.Element) -> int | None:
    for key, value in root.attrib.items():  # version="3" or orx:version="3"
        text = value.strip(_WHITESPACE)
        if _local(key) == "version" and _VERSION.fullmatch(text):
            return int(text)
    return None


def _meta(meta: ET.Element | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if meta is not None:
        for child in meta:
            name = _local(child.tag)
            if len(child) == 0 and not _blank(child.text) and name not in values:
                values[name] = (child.text or "").strip(_WHITESPACE)
    return values


def _attachments(root: ET.Element, media_names: Collection[str]) -> list[str]:
    if not media_names:
        return []
    names = frozenset(media_names)
    found: dict[str, None] = {}
    for element in root.iter():
        if len(element) == 0 and element.text:
            text = element.text.strip(_WHITESPACE)
            if text in names:
                found[text] = None
    return list(found)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _by_name(elements: Iterable[ET.Element]) -> dict[str, list[ET.Element]]:
    """Elements grouped by local name, in order of first appearance."""
    grouped: dict[str, list[ET.Element]] = {}
    for element in elements:
        grouped.setdefault(_local(element.tag), []).append(element)
    return grouped


class _Converter:
    """Turns elements into answers JSON, collecting conversion problems on the way."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(FieldError(path, code, message).as_dict())

    # -- with a definition

    def group(
        self,
        element: ET.Element,
        questions: Sequence[Question],
        path: str,
        skip: ET.Element | None = None,
    ) -> dict[str, Any]:
        known = {q.name: q for q in questions}
        out: dict[str, Any] = {}
        for name, elements in _by_name(c for c in _children(element) if c is not skip).items():
            question = known.get(name)
            here = _join(path, name)
            if question is None:
                value = self.generic_list(elements)
                if value is not None:
                    out[name] = value
                continue
            kind = question.type
            if kind == "note":
                continue
            if kind == "repeat":
                instances = [
                    self.group(e, question.questions, f"{here}[{i}]")
                    for i, e in enumerate(elements)
                ]
                if any(instances):  # a repeat whose every instance is empty was not answered
                    out[name] = instances
                continue
            if len(elements) > 1:
                self.problem(
                    here,
                    error_codes.OPENROSA_DUPLICATE_ELEMENT,
                    f"sent {len(elements)} times where one answer is expected; the first is kept",
                )
            if kind == "group":
                value = self.group(elements[0], question.questions, here)
                if value:
                    out[name] = value
            else:
                leaf = self.leaf(elements[0], kind, here)
                if leaf is not None:
                    out[name] = leaf
        return out

    def leaf(self, element: ET.Element, kind: str, path: str) -> Any:
        if len(element):
            self.problem(
                path,
                error_codes.RESPONSE_INVALID_TYPE,
                f"expected a {kind} value, not nested elements",
            )
            return self.generic(element)
        raw = element.text
        if raw is None or _blank(raw):
            return None
        if kind == "text":
            return raw
        text = raw.strip(_WHITESPACE)
        if kind in ("select_one", "calculate"):
            return text
        if kind == "select_multiple":
            return _SPACES.split(text)
        if kind == "integer":
            if _INTEGER.fullmatch(text) and len(text) <= _MAX_DIGITS:
                return int(text)
            return self.invalid(path, text, "an integer")
        if kind == "decimal":
            number = _number(text)
            return self.invalid(path, text, "a number") if number is None else number
        if kind == "date":
            return text if _valid_date(text) else self.invalid(path, text, "a date (YYYY-MM-DD)")
        if kind == "datetime":
            if _valid_datetime(text):
                return text
            return self.invalid(path, text, "a date and time with a UTC offset")
        if kind == "geopoint":
            point = _geopoint(text)
            if point is None:
                return self.invalid(path, text, "a location ('lat lon [alt [accuracy]]')")
            return point
        if kind in ("geotrace", "geoshape"):
            points = _geometry(text)
            if points is None:
                return self.invalid(path, text, "points ('lat lon alt acc;lat lon alt acc;...')")
            return points
        return text  # a type this layer does not know (media, ...): the text as sent

    def invalid(self, path: str, text: str, expected: str) -> str:
        self.problem(
            path, error_codes.RESPONSE_INVALID_TYPE, f"expected {expected}, got {_shorten(text)!r}"
        )
        return text

    # -- without a definition, and for elements the definition does not know

    def generic(self, element: ET.Element) -> Any:
        """An element as a string (a leaf) or a dict of its children; None when empty."""
        if len(element) == 0:
            return None if _blank(element.text) else element.text
        value = self.generic_children(element)
        return value or None

    def generic_children(self, element: ET.Element, skip: ET.Element | None = None) -> Any:
        out: dict[str, Any] = {}
        for name, elements in _by_name(c for c in _children(element) if c is not skip).items():
            value = self.generic_list(elements)
            if value is not None:
                out[name] = value
        return out

    def generic_list(self, elements: Sequence[ET.Element]) -> Any:
        if len(elements) == 1:
            return self.generic(elements[0])
        values = [self.generic(e) for e in elements]
        if all(v is None for v in values):
            return None
        return [{} if v is None else v for v in values]


def _number(text: str) -> int | float | None:
    """An integer literal as int, a decimal one as float; None when not a finite number."""
    if len(text) > _MAX_DIGITS:
        return None
    if _INTEGER.fullmatch(text):
        value = int(text)
        return value if -_LARGEST_FLOAT_INT <= value <= _LARGEST_FLOAT_INT else None
    if _DECIMAL.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return None


def _valid_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_datetime(text: str) -> bool:
    if not _DATETIME.fullmatch(text):
        return False
    try:
        datetime.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _geopoint(text: str) -> dict[str, int | float] | None:
    parts = _SPACES.split(text)
    if not 2 <= len(parts) <= 4:
        return None
    numbers = [_number(p) for p in parts]
    point: dict[str, int | float] = {}
    for key, number in zip(_GEOPOINT_KEYS, numbers, strict=False):
        if number is None:
            return None
        point[key] = number
    return point


def _geometry(text: str) -> list[dict[str, int | float]] | None:
    """ODK's trace or shape: geopoints separated by ';' (a trailing ';' is allowed)."""
    parts = text.split(";")
    if parts and _blank(parts[-1]):
        parts.pop()
    points = [_geopoint(part.strip(_WHITESPACE)) for part in parts]
    if not points or any(p is None for p in points):
        return None
    return [p for p in points if p is not None]


# --------------------------------------------------------------------------- writing


def instance_xml(
    definition: Definition,
    answers: Mapping[str, Any],
    *,
    form_id: str,
    version: int,
    instance_id: str,
    deprecated_id: str | None = None,
    instance_name: str | None = None,
) -> bytes:
    """The instance ODK Collect would submit for `answers`: the inverse of parse_instance.

    The root is named after the form id (as in the XForms we serve; `data` if the id is not
    an XML name), with `id`, `version` and the jr and orx namespace declarations.
    Every question of the definition gets an element, empty when unanswered (notes,
    calculates and skipped groups included), one element per repeat instance, then meta.
    A geotrace or geoshape given as a list of points is written as ODK writes it,
    "lat lon alt acc;lat lon alt acc"; a top-level `audit` answer goes to meta/audit, where
    pyxform puts it.
    Keys the definition does not know are written too (after the known ones), so that the
    validator reports them. Raises ValueError for answers that have no XML form (a group
    that is not an object, a name that is not an XML name, a character XML cannot carry).
    """
    root = ET.Element(
        form_id if _XML_NAME.fullmatch(form_id) else "data",
        {
            "xmlns:jr": JAVAROSA_NS,
            "xmlns:orx": ORX_NS,
            "id": form_id,
            "version": str(version),
        },
    )
    _write_group(root, definition.questions, answers, "")
    meta = ET.SubElement(root, "meta")
    ET.SubElement(meta, "instanceID").text = _checked(instance_id, "meta.instanceID")
    if deprecated_id is not None:
        ET.SubElement(meta, "deprecatedID").text = _checked(deprecated_id, "meta.deprecatedID")
    if instance_name is not None:
        ET.SubElement(meta, "instanceName").text = _checked(instance_name, "meta.instanceName")
    for question in definition.questions:
        audit = answers.get(question.name) if question.type == "audit" else None
        if audit is not None:
            ET.SubElement(meta, "audit").text = _text(audit, f"meta.{question.name}")
    return _document(root)


def _write_group(parent: ET.Element, questions: Sequence[Question], values: Any, path: str) -> None:
    if not isinstance(values, Mapping):
        raise ValueError(f"{path or 'answers'}: a group's answers must be an object")
    for question in questions:
        here = _join(path, question.name)
        value = values.get(question.name)
        if question.type == "repeat":
            if value is None:
                continue
            if not isinstance(value, list):
                raise ValueError(f"{here}: a repeat's answers must be an array of objects")
            for index, item in enumerate(value):
                element = ET.SubElement(parent, question.name)
                _write_group(element, question.questions, item, f"{here}[{index}]")
        elif question.type == "group":
            element = ET.SubElement(parent, question.name)
            _write_group(element, question.questions, {} if value is None else value, here)
        elif question.type == "audit" and not path:
            continue  # written in meta
        elif question.type in ("geotrace", "geoshape") and isinstance(value, list):
            element = ET.SubElement(parent, question.name)
            element.text = ";".join(_text(point, here) for point in value)
        else:
            element = ET.SubElement(parent, question.name)
            if value is not None:
                element.text = _text(value, here)
    known = {q.name for q in questions}
    for key, value in values.items():
        if key not in known:
            _write_generic(parent, str(key), value, _join(path, str(key)))


def _write_generic(parent: ET.Element, name: str, value: Any, path: str) -> None:
    if not _XML_NAME.fullmatch(name):
        raise ValueError(f"{path}: {name!r} is not an XML element name")
    if isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
        for item in value:
            _write_generic(parent, name, item, path)
        return
    element = ET.SubElement(parent, name)
    if isinstance(value, Mapping) and not _is_geopoint(value):
        for key, item in value.items():
            _write_generic(element, str(key), item, _join(path, str(key)))
    elif value is not None:
        element.text = _text(value, path)


def _is_geopoint(value: Mapping[Any, Any]) -> bool:
    return "lat" in value and "lon" in value and set(value) <= set(_GEOPOINT_KEYS)


def _text(value: Any, path: str) -> str:
    """An answer as OpenRosa writes it."""
    if isinstance(value, str):
        return _checked(value, path)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _decimal_text(value, path)
    if isinstance(value, list):
        return " ".join(_text(item, path) for item in value)
    if isinstance(value, Mapping) and _is_geopoint(value):
        alt, accuracy = value.get("alt"), value.get("accuracy")
        parts = [value["lat"], value["lon"]]
        if accuracy is not None:
            parts += [0 if alt is None else alt, accuracy]
        elif alt is not None:
            parts.append(alt)
        return " ".join(_text(part, path) for part in parts)
    raise ValueError(f"{path}: {type(value).__name__} {value!r} has no OpenRosa form")


def _decimal_text(value: float, path: str) -> str:
    """A float in plain decimal notation (xsd:decimal has no exponent), read back exactly."""
    if not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} is not a finite number")
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"  # a float stays a float when read back


def _checked(text: str, path: str) -> str:
    if _NOT_XML_CHAR.search(text):
        raise ValueError(f"{path}: the text has a character XML 1.0 cannot carry")
    return text


def _document(root: ET.Element) -> bytes:
    body = ET.tostring(root, encoding="unicode")
    # ElementTree leaves carriage returns raw, which XML parsers turn into line feeds.
    return (_DECLARATION + body.replace("\r", "&#13;")).encode("utf-8")


# --------------------------------------------------------------------------- server documents


def _md5(value: str) -> str:
    return value if value.startswith("md5:") else f"md5:{value}"


def _clean(text: str) -> str:
    """Text for a server document: characters XML cannot carry are dropped."""
    return _NOT_XML_CHAR.sub("", text)


def _add(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = _clean(text)


def form_list_xml(forms: Iterable[FormEntry]) -> bytes:
    """The OpenRosa formList document (`<xforms xmlns="http://openrosa.org/xforms/xformsList">`)."""
    root = ET.Element("xforms", xmlns=FORM_LIST_NS)
    for form in forms:
        xform = ET.SubElement(root, "xform")
        _add(xform, "formID", form.form_id)
        _add(xform, "name", form.name)
        if form.version is not None:
            _add(xform, "version", form.version)
        _add(xform, "hash", _md5(form.hash))
        _add(xform, "downloadUrl", form.download_url)
        if form.manifest_url is not None:
            _add(xform, "manifestUrl", form.manifest_url)
    return _document(root)


def manifest_xml(media: Iterable[MediaEntry]) -> bytes:
    """The OpenRosa manifest of a form's media files (`xformsManifest` namespace)."""
    root = ET.Element("manifest", xmlns=MANIFEST_NS)
    for entry in media:
        media_file = ET.SubElement(root, "mediaFile")
        _add(media_file, "filename", entry.filename)
        _add(media_file, "hash", _md5(entry.hash))
        _add(media_file, "downloadUrl", entry.download_url)
    return _document(root)


_PATH_SEGMENT = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")
_REFERENCE = re.compile(r"\$\{[^}]*\}")
_FORM_LEVEL = frozenset({"", "answers"})


def phone_path(path: str, definition: Definition | None, language: str | None) -> str:
    """A validator's path (`household.members[2].member_age`) as an enumerator reads it:
    each roster entry by its label and number counted from one, then the question's label
    in the phone's language (the default language otherwise; `${...}` shown as `…`) and
    its name: `Household member 3: How old is …, in completed years? (member_age)`."""
    if path in _FORM_LEVEL:
        return "the form"
    segments = _PATH_SEGMENT.findall(path)
    if not segments:
        return _shorten(path, 80)

    def label(name: str) -> str | None:
        question = definition.by_name.get(name) if definition is not None else None
        if question is None or definition is None:
            return None
        texts = question.label
        text = texts.get(language or "") or texts.get(definition.default_language)
        return _shorten(_REFERENCE.sub("…", text), 80) if text else None

    entries = [f"{label(name) or name} {int(index) + 1}" for name, index in segments[:-1] if index]
    name, index = segments[-1]
    words = label(name)
    number = f" {int(index) + 1}" if index else ""
    leaf = f"{words}{number} ({name})" if words else f"{name}{number}"
    return f"{', '.join(entries)}: {leaf}" if entries else leaf


def openrosa_response(message: str, *, nature: str | None = "submit_success") -> bytes:
    """The OpenRosaResponse envelope; Collect and Enketo show `message` to the enumerator.

    Use the default nature on success; for errors pass `nature="error"` (as ODK Central does).
    """
    root = ET.Element("OpenRosaResponse", xmlns=RESPONSE_NS)
    element = ET.SubElement(root, "message")
    if nature is not None:
        element.set("nature", _clean(nature))
    element.text = _clean(message)
    return _document(root)
