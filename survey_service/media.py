"""Form media files: which names and kinds are accepted, and whether the bytes are what they claim.

A questionnaire's media (choice lists for `select_one_from_file`, tables for `pulldata`, maps,
pictures and sounds shown in questions) go to ODK Collect and Enketo as they are, under their
file names, so every file is checked before it is kept:

- **Name.** A plain file name: no `/` or `\\`, no leading dot, no trailing dot or space, no
  control characters nor `< > : " | ? *` (a phone or a Windows desktop could not write it),
  printable, at most 255 bytes in UTF-8, ending with an accepted extension (any case).
- **Kind.** By extension: `csv`, `xml`, `geojson` (data); `jpg`/`jpeg`, `png`, `gif`
  (pictures); `mp3`, `m4a`, `ogg`, `wav` (sounds); `mp4` (video). The media type served is
  the extension's, never the one a client sent. Not accepted: `svg` (a script in it would run
  in a browser opening the download), `json` (ODK reads GeoJSON only as `.geojson`),
  spreadsheets and anything else.
- **Content.** Not empty. A CSV is UTF-8 (a BOM is fine), comma-separated, with no control
  characters but tabs and line ends, and a header row of distinct, non-empty column names;
  every other line has as many fields (blank lines are skipped). An XML file parses without a
  DTD or entity declarations (defusedxml). A GeoJSON file is one FeatureCollection whose
  features each have a geometry and an id (`id`, or `properties.id`: ODK skips features
  without one), every id once. Pictures and sounds start with the signature (magic bytes) of
  their extension.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from survey_service import error_codes
from survey_service.errors import FieldError

#: The media type served for each accepted extension (lower case).
MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "csv": "text/csv",
        "xml": "application/xml",
        "geojson": "application/geo+json",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
        "ogg": "audio/ogg",
        "wav": "audio/wav",
        "mp4": "video/mp4",
    }
)

MAX_NAME_BYTES = 255
_FORBIDDEN_CHARACTERS = frozenset('/\\<>:"|?*')
# the problems of one file listed in a reply (all are counted)
PROBLEMS_LISTED = 100


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)


#: The names accepted, as a regular expression for the OpenAPI document (the checks below
#: also refuse what it lets through: a name that is not printable, or too long in UTF-8).
NAME_PATTERN = (
    r'^[^./\\<>:"|?*\x00-\x1f\x7f][^/\\<>:"|?*\x00-\x1f\x7f]{0,243}\.(?:'
    + "|".join(_any_case(extension) for extension in MEDIA_TYPES)
    + ")$"
)


@dataclass
class MediaError(Exception):
    """A file refused: its stable `code`, a sentence saying why, and the problems at lines."""

    code: str
    message: str
    problems: list[FieldError] = field(default_factory=list)
    problem_count: int = 0

    def __str__(self) -> str:
        return self.message


def extension(filename: str) -> str:
    """The lower-case extension of a name ('' without one)."""
    _, dot, tail = filename.rpartition(".")
    return tail.lower() if dot else ""


def check_filename(filename: str) -> str:
    """The media type of an acceptable file name; MediaError when the name is refused."""
    reasons = []
    if not filename:
        reasons.append("it is empty")
    elif filename.startswith("."):
        reasons.append("it starts with a dot")
    elif filename.endswith((".", " ")):
        reasons.append("it ends with a dot or a space")
    if any(c in _FORBIDDEN_CHARACTERS for c in filename):
        reasons.append('it holds one of / \\ < > : " | ? *')
    if not filename.isprintable():
        reasons.append("it holds a character that is not printable")
    if len(filename.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        reasons.append(f"it is longer than {MAX_NAME_BYTES} bytes in UTF-8")
    if reasons:
        raise MediaError(
            error_codes.MEDIA_INVALID_NAME,
            f"{filename[:80]!r} is not a plain file name: {'; '.join(reasons)}.",
        )
    media_type = MEDIA_TYPES.get(extension(filename))
    if media_type is None:
        raise MediaError(
            error_codes.MEDIA_UNSUPPORTED_TYPE,
            f"{filename[:80]!r}: the extension must be one of {', '.join(MEDIA_TYPES)}.",
        )
    return media_type


def check_content(filename: str, data: bytes) -> None:
    """Refuse (MediaError) bytes that are not a plausible file of the name's kind."""
    kind = extension(filename)
    if not data:
        raise MediaError(error_codes.MEDIA_EMPTY, f"{filename!r} is empty.")
    if kind == "csv":
        read_csv(data)
    elif kind == "xml":
        _check_xml(data)
    elif kind == "geojson":
        _check_geojson(data)
    elif not any(_matches(data, signature) for signature in _SIGNATURES[kind]):
        raise MediaError(
            error_codes.MEDIA_CONTENT_MISMATCH,
            f"{filename!r} does not start as a .{kind} file does: "
            "the content and the extension disagree.",
        )


# --------------------------------------------------------------------------- CSV

# C0 controls but tab, line feed and carriage return, and DEL: none belongs in a text table
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_csv(data: bytes) -> list[Mapping[str, str]]:
    """The rows of a media CSV, each by column name (read-only); MediaError listing every
    problem when it is not UTF-8 CSV with a header row and as many fields on every line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MediaError(
            error_codes.MEDIA_INVALID_CSV,
            f"The CSV file is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8'.",
        ) from exc
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise MediaError(
            error_codes.MEDIA_INVALID_CSV,
            f"The CSV file holds the control character U+{ord(control.group()):04X} on line "
            f"{line}: is it a text file?",
        )
    problems: list[FieldError] = []
    count = 0

    def problem(line: int, message: str) -> None:
        nonlocal count
        count += 1
        if len(problems) < PROBLEMS_LISTED:
            problems.append(FieldError(f"line {line}", error_codes.MEDIA_INVALID_CSV, message))

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[Mapping[str, str]] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue  # a blank line
            if header is None:
                header = fields
                seen: set[str] = set()
                for position, name in enumerate(fields, start=1):
                    if not name.strip():
                        problem(line, f"column {position} of the header row has no name")
                    elif name in seen:
                        problem(line, f"the column {name!r} is named twice")
                    seen.add(name)
                continue
            if len(fields) != len(header):
                problem(line, f"{len(fields)} field(s), the header row names {len(header)}")
                continue
            rows.append(MappingProxyType(dict(zip(header, fields, strict=True))))
    except csv.Error as exc:
        problem(reader.line_num, f"not CSV: {exc}")
    if header is None and not count:
        raise MediaError(error_codes.MEDIA_INVALID_CSV, "The CSV file has no header row.")
    if count:
        raise MediaError(
            error_codes.MEDIA_INVALID_CSV,
            f"The CSV file has {count} problem(s); nothing was stored.",
            problems,
            count,
        )
    return rows


# --------------------------------------------------------------------------- XML, GeoJSON


def _check_xml(data: bytes) -> None:
    try:
        DefusedET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MediaError(
            error_codes.MEDIA_FORBIDDEN_XML,
            "The XML file declares a DTD or entities, which are not accepted "
            f"({type(exc).__name__}).",
        ) from exc
    except DefusedET.ParseError as exc:
        raise MediaError(
            error_codes.MEDIA_INVALID_XML, f"The XML file does not parse: {exc}."
        ) from exc


_GEOMETRY_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)


def _check_geojson(data: bytes) -> None:
    def refused(message: str, problems: Sequence[FieldError] = (), count: int = 0) -> MediaError:
        return MediaError(error_codes.MEDIA_INVALID_GEOJSON, message, list(problems), count)

    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise refused("The GeoJSON file is not JSON in UTF-8.") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise refused("The GeoJSON file must be one FeatureCollection.")
    features = document.get("features")
    if not isinstance(features, list):
        raise refused("The FeatureCollection has no list of features.")
    problems: list[FieldError] = []
    count = 0
    seen: set[str] = set()
    for index, feature in enumerate(features):
        message = _feature_problem(feature, seen)
        if message is not None:
            count += 1
            if len(problems) < PROBLEMS_LISTED:
                path = f"features[{index}]"
                problems.append(FieldError(path, error_codes.MEDIA_INVALID_GEOJSON, message))
    if count:
        raise refused(
            f"The GeoJSON file has {count} problem(s); nothing was stored.", problems, count
        )


def _feature_problem(feature: Any, seen: set[str]) -> str | None:
    """What is wrong with one feature (None: nothing); `seen` collects the ids."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a Feature"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRY_TYPES:
        return "no geometry (a GeoJSON geometry object)"
    properties = feature.get("properties")
    identifier = feature.get("id")
    if identifier is None and isinstance(properties, dict):
        identifier = properties.get("id")
    if isinstance(identifier, bool) or not isinstance(identifier, str | int | float):
        return "no id (a string or number as `id` or `properties.id`)"
    key = str(identifier)
    if not key.strip():
        return "an empty id"
    if key in seen:
        return f"the id {key!r} is used twice"
    seen.add(key)
    return None


# --------------------------------------------------------------------------- signatures

# (offset, bytes) pairs that must all match
_Signature = tuple[tuple[int, bytes], ...]
_SIGNATURES: Mapping[str, tuple[_Signature, ...]] = {
    "jpg": (((0, b"\xff\xd8\xff"),),),
    "jpeg": (((0, b"\xff\xd8\xff"),),),
    "png": (((0, b"\x89PNG\r\n\x1a\n"),),),
    "gif": (((0, b"GIF87a"),), ((0, b"GIF89a"),)),
    # an ID3 tag, or straight into an MPEG audio frame (checked in _matches)
    "mp3": (((0, b"ID3"),), ((0, b"\xff"),)),
    "m4a": (((4, b"ftyp"),),),
    "mp4": (((4, b"ftyp"),),),
    "ogg": (((0, b"OggS"),),),
    "wav": (((0, b"RIFF"), (8, b"WAVE")),),
}


def _matches(data: bytes, signature: _Signature) -> bool:
    if signature == ((0, b"\xff"),):  # an MPEG audio frame: 11 sync bits
        return len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    return all(data[offset : offset + len(magic)] == magic for offset, magic in signature)


# --------------------------------------------------------------------------- answers' files

# the signatures a file answering a media question may start with, by question type
_ANSWER_SIGNATURES: Mapping[str, tuple[_Signature, ...]] = {
    "image": (
        *_SIGNATURES["jpg"],
        *_SIGNATURES["png"],
        *_SIGNATURES["gif"],
        ((0, b"RIFF"), (8, b"WEBP")),
    ),
    # mp3, m4a and 3gp (ISO base media: `ftyp` at byte 4), ogg, wav, amr
    "audio": (*_SIGNATURES["mp3"], *_SIGNATURES["m4a"], *_SIGNATURES["ogg"], *_SIGNATURES["wav"])
    + (((0, b"#!AMR"),),),
    # mp4 and 3gp (`ftyp` at byte 4), webm (an EBML header)
    "video": (*_SIGNATURES["mp4"], ((0, b"\x1a\x45\xdf\xa3"),)),
}
_ANSWER_SIGNATURES = {**_ANSWER_SIGNATURES, "background-audio": _ANSWER_SIGNATURES["audio"]}


def plausible_answer_file(question_type: str, data: bytes) -> bool:
    """Whether `data` starts as a file answering a question of this type may: a picture
    (jpeg, png, gif, webp), a sound (mp3, m4a, ogg, wav, amr, 3gp) or a video (mp4, 3gp,
    webm); `file` and `audit` take anything but an empty file."""
    if not data:
        return False
    signatures = _ANSWER_SIGNATURES.get(question_type)
    return signatures is None or any(_matches(data, s) for s in signatures)
