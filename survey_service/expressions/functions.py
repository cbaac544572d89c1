"""The functions of the language: one registry saying which exist and how each evaluates.

`FUNCTIONS` is the one place a function is declared. The parser checks names and argument
counts against it (and so do the definition checker and the XLSForm reader, through
`parse`); the evaluator calls its implementation, or compiles it itself when it has none
(it reads the context, skips arguments or is a constant: see `evaluator.SPECIAL_FORMS`);
the SQL compiler (`expressions.sql`) compiles the functions it marks `sql`. Adding a
function means an entry here, its implementation, and where it applies an SQL compile.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType
from typing import Final

from survey_service.expressions.regex import regex_matcher
from survey_service.expressions.values import (
    EPOCH_ORDINAL,
    Value,
    as_float,
    days,
    first,
    nodes,
    numeric,
    parse_date_text,
    to_boolean,
    to_number,
    to_string,
)

_NAN: Final = math.nan


@dataclass(frozen=True, slots=True)
class Function:
    """One function: its argument counts, its implementation, and where it may be used."""

    least: int  # fewest arguments
    most: int | None  # most arguments; None when variadic
    # of its arguments' values; None when the evaluator compiles it itself (SPECIAL_FORMS)
    implementation: Callable[..., Value] | None
    returns_bool: bool = False  # always gives a bool (so no boolean() conversion is needed)
    sql: bool = False  # aggregates compile it to SQL (expressions/sql.py)
    repeats: bool = False  # reads repeat instances (a node-set or the instance's position)
    # its value only the device can know (random(), uuid(), once() ...): a calculation
    # calling it keeps the value the client sent, after a type check (validation/)
    device: bool = False


def _selected(multi: Value, choice: Value) -> bool:
    wanted = to_string(choice).strip()
    return wanted != "" and wanted in to_string(multi).split()


def _count_selected(multi: Value) -> int:
    return len(to_string(multi).split())


def _selected_at(multi: Value, index: Value) -> str:
    n = to_number(index)
    if not math.isfinite(n):
        return ""
    i = int(n)
    parts = to_string(multi).split()
    return parts[i] if 0 <= i < len(parts) else ""


def _string_length(v: Value) -> int:
    return len(to_string(v))


def _contains(a: Value, b: Value) -> bool:
    return to_string(b) in to_string(a)


def _starts_with(a: Value, b: Value) -> bool:
    return to_string(a).startswith(to_string(b))


def _concat_part(v: Value) -> str:
    if isinstance(v, list):
        return "".join(to_string(item) for item in nodes(v))
    return to_string(v)


def _concat(*values: Value) -> str:
    """The texts of the arguments joined; of a node-set, all its items (as JavaRosa does)."""
    return "".join(_concat_part(v) for v in values)


def _int(v: Value) -> int | float:
    """Truncation toward zero; NaN and the infinities stay as they are."""
    x = numeric(v, False)
    if isinstance(x, int):
        return int(x)
    if math.isfinite(x):
        return int(x)
    return x


def _round(v: Value, places: Value = 0) -> float:
    """Round to `places` decimals as JavaRosa: halves toward +infinity, on the shortest decimal.

    JavaRosa's XPathFuncExpr.round sets the scale of `new BigDecimal(Double.toString(x))`
    HALF_UP when x >= 0 and HALF_DOWN when x < 0, so round(2.5) = 3, round(-2.5) = -2 and
    round(-0.5) = -0 (XPathEvalTest). With negative places JavaRosa truncates
    `(long) (x * 10^places + 0.5)`, which is wrong for negatives (round(-1260, -2) gives
    -1200 there); halves toward +infinity are kept here instead. expressions/sql.py rounds
    the same way, and its tests hold the two equal.
    """
    x = to_number(v)
    digits = to_number(places)
    if not math.isfinite(x):
        return x
    if digits != digits:
        digits = 0.0
    if not -30 <= digits <= 30:
        return _NAN
    exponent = Decimal(1).scaleb(-int(digits))
    rounding = ROUND_HALF_UP if x >= 0 else ROUND_HALF_DOWN
    with localcontext() as context:
        context.prec = 400
        rounded = Decimal(repr(x)).quantize(exponent, rounding=rounding)
    return float(rounded)


def _to_date(v: Value) -> Value:
    """date(): from 'YYYY-MM-DD' (a date-time text keeps its time) or days since the epoch."""
    v = first(v)
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str):
        return parse_date_text(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    n = _int(v)
    if not isinstance(n, int):
        return None
    try:
        return datetime.date.fromordinal(EPOCH_ORDINAL + n)
    except (ValueError, OverflowError):
        return None


def _decimal_date_time(v: Value) -> Value:
    """Fractional days since 1970-01-01T00:00Z of a date, date-time, their text or a number."""
    v = first(v)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        parsed = parse_date_text(v)
        return _NAN if parsed is None else as_float(days(parsed))
    if isinstance(v, datetime.date):
        return as_float(days(v))
    return to_number(v)


def _count(v: Value) -> int:
    return len(nodes(v))


def _sum(v: Value) -> int | float:
    """Sum of a node-set; like JavaRosa, items that are not numbers (empty answers) are skipped."""
    whole = 0
    fraction = 0.0
    floats = False
    for item in nodes(v):
        x = numeric(item, False)
        if type(x) is int:
            whole += x
        elif x == x:
            fraction += x
            floats = True
    if not floats:
        return whole
    return as_float(whole) + fraction


def _extreme(pick_greater: bool) -> Callable[..., int | float]:
    def extreme(*values: Value) -> int | float:
        best: int | float | None = None
        for value in values:
            for item in nodes(value):
                x = numeric(item, False)
                if x != x:
                    continue
                if best is None or (x > best if pick_greater else x < best):
                    best = x
        return _NAN if best is None else best

    return extreme


_max = _extreme(True)
_min = _extreme(False)


def _regex(subject: Value, pattern: Value) -> bool:
    matcher = regex_matcher(to_string(pattern))
    if isinstance(matcher, str):
        return False
    return matcher(to_string(subject))


# --------------------------------------------------------------------------- texts


def _ends_with(a: Value, b: Value) -> bool:
    return to_string(a).endswith(to_string(b))


def _java_int(v: Value) -> int:
    """JavaRosa's toInt(v).intValue(): truncation; NaN is 0, the infinities saturate."""
    x = to_number(v)
    if x != x:
        return 0
    if math.isinf(x):
        return 2**31 - 1 if x > 0 else -(2**31)
    return max(-(2**31), min(2**31 - 1, int(x)))


def _substr(text: Value, start: Value, end: Value = None) -> str:
    """JavaRosa's substr(s, start, end): 0-based, `end` exclusive (not a length, unlike
    XPath's substring()), a negative index counts from the end (XPathFuncExpr.substring)."""
    s = to_string(text)
    n = len(s)
    i = _java_int(start)
    j = n if end is None else _java_int(end)
    if i < 0:
        i += n
    if j < 0:
        j += n
    i = min(max(0, i), n)
    j = min(max(0, j), n)
    return s[i:j] if i <= j else ""


def _substring_before(a: Value, b: Value) -> str:
    s, part = to_string(a), to_string(b)
    at = s.find(part)
    return s[:at] if at >= 0 else ""


def _substring_after(a: Value, b: Value) -> str:
    s, part = to_string(a), to_string(b)
    at = s.find(part)
    return s[at + len(part) :] if at >= 0 else ""


def _translate(text: Value, source: Value, target: Value) -> str:
    """XPath translate(): a character of `source` becomes the one at its first position in
    `target`, or is deleted when `target` is shorter."""
    chars, into = to_string(source), to_string(target)
    out: list[str] = []
    for ch in to_string(text):
        at = chars.find(ch)
        if at < 0:
            out.append(ch)
        elif at < len(into):
            out.append(into[at])
    return "".join(out)


_JAVA_SPACE: Final = re.compile(r"[ \t\n\x0b\f\r]+")


def _java_trim(s: str) -> str:
    """Java's String.trim(): off both ends, every character up to U+0020."""
    start, end = 0, len(s)
    while start < end and s[start] <= " ":
        start += 1
    while end > start and s[end - 1] <= " ":
        end -= 1
    return s[start:end]


def _normalize_space(v: Value) -> str:
    """JavaRosa: s.trim().replaceAll("\\s+", " ") (Java's \\s is ASCII whitespace only)."""
    return _JAVA_SPACE.sub(" ", _java_trim(to_string(v)))


def _join(separator: Value, *values: Value) -> str:
    """join(sep, a, b, ...) or join(sep, node-set): the texts with sep between them."""
    several = len(values) == 1 and isinstance(values[0], list)
    items = nodes(values[0]) if several else list(values)
    return to_string(separator).join(to_string(item) for item in items)


def _boolean_from_string(v: Value) -> bool:
    """JavaRosa: 'true' in any case, or '1'; anything else is false."""
    s = to_string(v)
    return s.lower() == "true" or s == "1"


def _boolean(v: Value) -> bool:
    return to_boolean(v)


_DIGESTS: Final = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384"}
_DIGESTS_ALL: Final = {**_DIGESTS, "SHA512": "sha512"}
_ENCODINGS: Final = frozenset({"BASE64", "HEX"})


def digest_algorithm(name: str) -> str | None:
    """hashlib's name of a digest() algorithm as JavaRosa reads it (any case, '-' ignored)."""
    return _DIGESTS_ALL.get(name.upper().replace("-", ""))


def digest_encoding(name: str) -> bool:
    """Whether digest() knows the encoding (JavaRosa: 'base64' or 'hex', any case)."""
    return name.upper() in _ENCODINGS


def _digest(text: Value, algorithm: Value, encoding: Value = "base64") -> str:
    """JavaRosa's digest(): of the UTF-8 bytes, in base64 (the default) or lowercase hex.
    An algorithm or encoding it does not know is refused when the expression is parsed
    (a literal) and gives '' here (JavaRosa raises)."""
    name = digest_algorithm(to_string(algorithm))
    coding = to_string(encoding)
    if name is None or not digest_encoding(coding):
        return ""
    hashed = hashlib.new(name, to_string(text).encode("utf-8"))
    if coding.upper() == "HEX":
        return hashed.hexdigest()
    return base64.b64encode(hashed.digest()).decode("ascii")


def _base64_decode(v: Value) -> str:
    """The UTF-8 text of base64 (malformed bytes become U+FFFD, as Java's new String does);
    '' when it is not base64 (JavaRosa raises)."""
    text = "".join(to_string(v).split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- numbers


def _real(v: Value) -> float:
    """JavaRosa's toDouble(): number(), with a date-time as fractional days."""
    return to_number(v)


def _java_pow(a: float, b: float) -> float:
    """Java's Math.pow (C's pow but for pow(1, NaN) and pow(-1, ±Infinity): NaN)."""
    if b != b:
        return _NAN
    if b == 0:
        return 1.0
    if a != a:
        return _NAN
    if abs(a) == 1 and math.isinf(b):
        return _NAN
    try:
        return math.pow(a, b)
    except ZeroDivisionError:  # pragma: no cover - math.pow raises ValueError instead
        return math.inf
    except ValueError:
        if a == 0:  # 0 to a negative power
            odd = b.is_integer() and int(b) % 2 == 1
            return -math.inf if odd and math.copysign(1.0, a) < 0 else math.inf
        return _NAN  # a negative number to a fractional power
    except OverflowError:
        odd = b.is_integer() and int(b) % 2 == 1
        return -math.inf if a < 0 and odd else math.inf


def _pow(a: Value, b: Value) -> float:
    return _java_pow(_real(a), _real(b))


def _exp10(v: Value) -> float:
    return _java_pow(10.0, _real(v))


def _math(function: Callable[[float], float]) -> Callable[[Value], float]:
    """A java.lang.Math function: NaN where Python raises for a domain error, an infinity
    where it raises for an overflow."""

    def apply(v: Value) -> float:
        x = _real(v)
        try:
            return function(x)
        except OverflowError:
            return math.inf
        except ValueError:
            return _NAN

    return apply


def _log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x)


def _log10(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log10(x)


def _atan2(a: Value, b: Value) -> float:
    return math.atan2(_real(a), _real(b))


def _abs(v: Value) -> int | float:
    x = numeric(v, False)
    return abs(x)


def _pi() -> float:
    return math.pi


def _floor(v: Value) -> int | float:
    """XPath 1.0 floor() (JavaRosa has none): NaN and the infinities stay as they are."""
    x = numeric(v, False)
    if isinstance(x, int) or not math.isfinite(x):
        return x
    return math.floor(x)


def _ceiling(v: Value) -> int | float:
    """XPath 1.0 ceiling() (JavaRosa has none): NaN and the infinities stay as they are."""
    x = numeric(v, False)
    if isinstance(x, int) or not math.isfinite(x):
        return x
    return math.ceil(x)


# --------------------------------------------------------------------------- device values


def _random() -> float:
    """random(): a device's draw is kept (validation/); this one only when none was sent."""
    return random.random()  # noqa: S311 - not for security, as in JavaRosa


_BASE36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _uuid(length: Value = None) -> str:
    """uuid(): a random version 4 UUID; uuid(n): n random characters of [0-9A-Z], as
    JavaRosa's PropertyUtils.genGUID."""
    if length is None:
        return str(uuid.uuid4())
    n = _java_int(length)
    return "".join(random.choice(_BASE36) for _ in range(max(0, n)))  # noqa: S311


def _once(v: Value) -> Value:
    """once(x): x, when the question has no value yet (JavaRosa); a sent value is kept."""
    return v


class ParkMiller:
    """JavaRosa's seeded generator for randomize() (xform/parse/ParkMiller.java): the
    Park-Miller minimal standard generator computed in doubles, so devices on every
    platform shuffle a seeded list alike."""

    _MODULUS: Final = 2147483647
    _MULTIPLIER: Final = 16807

    def __init__(self, seed: int) -> None:
        state = math.fmod(float(seed), self._MODULUS)
        if state <= 0:
            state += self._MODULUS - 1
        self.state = state

    def next_double(self) -> float:
        self.state = math.fmod(self.state * self._MULTIPLIER, self._MODULUS)
        return (int(self.state) - 1) / (self._MODULUS - 1)


def fisher_yates(items: list[Value], seed: int | None) -> list[Value]:
    """JavaRosa's FisherYates.shuffle: the "inside-out" shuffle, index from nextDouble()."""
    generator = ParkMiller(seed) if seed is not None else None
    out: list[Value] = []
    for i, item in enumerate(items):
        draw = generator.next_double() if generator else random.random()  # noqa: S311
        j = int(draw * (i + 1))
        if j == i:
            out.append(item)
        else:
            out.append(out[j])
            out[j] = item
    return out


def _long_hash(text: str) -> int:
    """JavaRosa's toLongHash: the first 8 bytes of the SHA-256 of the UTF-8, signed."""
    if text == "":
        return 0
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)


def randomize_seed(v: Value) -> int:
    """randomize()'s seed as JavaRosa reads it (RandomizeHelper.toNumericWithLongHash): the
    number truncated toward zero, or of a text that is not one, a hash of it."""
    x = to_number(v)
    if x != x:
        return _long_hash(to_string(first(v)))
    if math.isinf(x):
        return 2**63 - 1 if x > 0 else -(2**63)
    return max(-(2**63), min(2**63 - 1, int(x)))


def _randomize(items: Value, seed: Value = None) -> list[Value]:
    """randomize(node-set[, seed]): seeded, the order a device gives (FisherYatesExamplesTest);
    unseeded, a device's own draw, so a calculation keeps the client's value."""
    return fisher_yates(nodes(items), None if seed is None else randomize_seed(seed))


# --------------------------------------------------------------------------- dates


def _date_time(v: Value) -> Value:
    """date-time(): a date-time from its text, a date (midnight) or days since the epoch
    (fractional, UTC, as JavaRosa's toDate(n, preserveTime))."""
    v = first(v)
    if isinstance(v, datetime.datetime):
        return v
    if isinstance(v, datetime.date):
        return datetime.datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        if v == "":
            return None
        parsed = parse_date_text(v)
        if isinstance(parsed, datetime.date) and not isinstance(parsed, datetime.datetime):
            return datetime.datetime(parsed.year, parsed.month, parsed.day)
        return parsed
    if v is None or isinstance(v, (bool, list)):
        return None
    x = to_number(v)
    if not math.isfinite(x) or not -(2**31) <= x <= 2**31 - 1:
        return None
    try:
        return datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            milliseconds=int(x * 86_400_000)
        )
    except OverflowError:
        return None


_TIME_TEXT: Final = re.compile(
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def _decimal_time(v: Value) -> Value:
    """decimal-time(): the fraction of its day a time is, in the time's own offset (JavaRosa
    takes the device's zone; the offset written is the device's at entry). A time of day
    ('14:30:00.000+06:00'), a date-time, or a number (its fractional part)."""
    v = first(v)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        text = v.strip()
        match = _TIME_TEXT.fullmatch(text)
        if match is not None:
            hour, minute = int(match.group(1)), int(match.group(2))
            second = int(match.group(3) or 0)
            fraction = float("0." + match.group(4)) if match.group(4) else 0.0
            if hour > 23 or minute > 59 or second > 59:
                return _NAN
            return (hour * 3600 + minute * 60 + second + fraction) / 86400
        parsed = parse_date_text(text)
        if parsed is None:
            return _NAN
        v = parsed
    if isinstance(v, datetime.datetime):
        midnight = v.replace(hour=0, minute=0, second=0, microsecond=0)
        return (v - midnight) / datetime.timedelta(days=1)
    if isinstance(v, datetime.date):
        return 0.0
    x = to_number(v)
    if not math.isfinite(x):
        return x
    return x - math.floor(x)


_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FORMAT_ESCAPES: Final = frozenset("%YymnbdeHhMS3aW")
"""The letters after '%' format-date() knows (JavaRosa's DateUtils.format)."""


def format_pattern_error(pattern: str) -> str | None:
    """Why format-date() cannot use a pattern (an escape JavaRosa refuses), or None."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "%":
            if i + 1 >= len(pattern):
                return "the date format ends with %"
            if pattern[i + 1] not in FORMAT_ESCAPES:
                return f"unknown escape %{pattern[i + 1]} in the date format"
            i += 1
        i += 1
    return None


def format_date(moment: datetime.datetime, pattern: str) -> str | None:
    """JavaRosa's DateUtils.format of a date-time's fields as written (in its own offset);
    None for a pattern it refuses. %b and %a are English here: a device writes them in its
    locale."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(pattern):
            return None
        code = pattern[i + 1]
        i += 2
        if code == "%":
            out.append("%")
        elif code == "Y":
            out.append(f"{moment.year:04d}")
        elif code == "y":
            out.append(f"{moment.year:04d}"[2:])
        elif code == "m":
            out.append(f"{moment.month:02d}")
        elif code == "n":
            out.append(str(moment.month))
        elif code == "b":
            out.append(_MONTHS[moment.month - 1])
        elif code == "d":
            out.append(f"{moment.day:02d}")
        elif code == "e":
            out.append(str(moment.day))
        elif code == "H":
            out.append(f"{moment.hour:02d}")
        elif code == "h":
            out.append(str(moment.hour))
        elif code == "M":
            out.append(f"{moment.minute:02d}")
        elif code == "S":
            out.append(f"{moment.second:02d}")
        elif code == "3":
            out.append(f"{moment.microsecond // 1000:03d}")
        elif code == "a":
            out.append(_WEEKDAYS[moment.weekday()])
        elif code == "W":
            out.append(str(moment.isocalendar()[1]))
        else:
            return None
    return "".join(out)


def _format_date(v: Value, pattern: Value) -> str:
    """format-date(), format-date-time(): '' for a value that is not a date (JavaRosa: ''
    for an empty one, an error for others) or a pattern it refuses."""
    moment = _date_time(v)
    if not isinstance(moment, datetime.datetime):
        return ""
    return format_date(moment, to_string(pattern)) or ""


# --------------------------------------------------------------------------- node-sets


def _count_non_empty(v: Value) -> int:
    """count-non-empty(): the items of a node-set whose text is not empty."""
    return sum(1 for item in nodes(v) if to_string(item) != "")


def _checklist(least: Value, most: Value, *values: Value) -> bool:
    """checklist(min, max, ...): how many items are true is within [min, max]; a negative
    bound is no bound (JavaRosa; a single node-set argument counts its items)."""
    low, high = _java_int(least), _java_int(most)
    items = nodes(values[0]) if len(values) == 1 else list(values)
    count = sum(1 for item in items if to_boolean(item))
    return (low < 0 or count >= low) and (high < 0 or count <= high)


def _weighted_checklist(least: Value, most: Value, *values: Value) -> bool:
    """weighted-checklist(min, max, v1, w1, ...): the sum of the weights of the true items
    is within [min, max]; two node-sets (items, weights) pair item by item."""
    low, high = to_number(least), to_number(most)
    if len(values) == 2 and isinstance(values[0], list) and isinstance(values[1], list):
        flags, weights = nodes(values[0]), nodes(values[1])
        if len(flags) != len(weights):
            return False
    else:
        flags, weights = list(values[0::2]), list(values[1::2])
    total = 0.0
    for flag, weight in zip(flags, weights, strict=False):
        if to_boolean(flag):
            total += to_number(weight)
    return low <= total <= high


# --------------------------------------------------------------------------- geography

_EARTH_RADIUS: Final = 6_378_100.0  # metres: JavaRosa's GeoUtils.EARTH_EQUATORIAL_RADIUS_METERS
_EARTH_CIRCUMFERENCE: Final = 2 * _EARTH_RADIUS * math.pi


def _point(text: str) -> tuple[float, float] | None:
    """The latitude and longitude of a geopoint ('lat lon [alt [accuracy]]'), or None."""
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _points(texts: list[str]) -> list[tuple[float, float]] | None:
    out: list[tuple[float, float]] = []
    for text in texts:
        point = _point(text)
        if point is None:
            return None
        out.append(point)
    return out


def _shape_points(v: Value) -> list[tuple[float, float]] | None:
    """Points of a geoshape or geotrace ('p1;p2;...'), or of a node-set of geopoints."""
    items = nodes(v)
    if len(items) >= 2:
        return _points([to_string(item) for item in items])
    text = to_string(first(v)).strip()
    if text == "":
        return []
    return _points([part for part in text.split(";") if part.strip()])


def _area(v: Value) -> float:
    """area() in square metres, as JavaRosa's GeoUtils computes it: triangles fanned from
    the first point on an equirectangular projection (not a geodesic area)."""
    points = _shape_points(v)
    if points is None:
        return _NAN
    if len(points) < 3:
        return 0.0
    lat0, lon0 = points[0]
    ys = [(lat - lat0) * _EARTH_CIRCUMFERENCE / 360.0 for lat, _ in points[1:]]
    xs = [
        (lon - lon0) * _EARTH_CIRCUMFERENCE * math.cos(math.radians(lat)) / 360.0
        for lat, lon in points[1:]
    ]
    total = 0.0
    for i in range(1, len(xs)):
        total += (ys[i - 1] * xs[i] - xs[i - 1] * ys[i]) / 2
    return abs(total)


def _distance_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance by the spherical law of cosines (GeoUtils.distanceBetween)."""
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    delta = math.radians(a[1] - b[1])
    cosine = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(delta)
    try:
        return math.acos(cosine) * _EARTH_RADIUS
    except ValueError:  # rounding took it past 1: Java's acos gives NaN
        return _NAN


def _distance(*values: Value) -> float:
    """distance(): metres along a geotrace or geoshape, a node-set of geopoints, or the
    geopoints given as arguments (GeoUtils.calculateDistance)."""
    if len(values) == 1:
        points = _shape_points(values[0])
    else:
        points = _points([to_string(v) for v in values])
    if points is None:
        return _NAN
    total = 0.0
    for a, b in zip(points, points[1:], strict=False):
        total += _distance_between(a, b)
    return total


FUNCTIONS: Final[Mapping[str, Function]] = MappingProxyType(
    {
        "if": Function(3, 3, None, sql=True),
        "not": Function(1, 1, None, returns_bool=True, sql=True),
        "true": Function(0, 0, None, returns_bool=True, sql=True),
        "false": Function(0, 0, None, returns_bool=True, sql=True),
        "selected": Function(2, 2, _selected, returns_bool=True, sql=True),
        "count-selected": Function(1, 1, _count_selected, sql=True),
        "selected-at": Function(2, 2, _selected_at),
        "string-length": Function(1, 1, _string_length, sql=True),
        "regex": Function(2, 2, _regex, returns_bool=True),
        "contains": Function(2, 2, _contains, returns_bool=True, sql=True),
        "starts-with": Function(2, 2, _starts_with, returns_bool=True, sql=True),
        "concat": Function(1, None, _concat, sql=True),
        "coalesce": Function(2, 2, None, sql=True),
        "int": Function(1, 1, _int, sql=True),
        "number": Function(1, 1, to_number, sql=True),
        "string": Function(1, 1, to_string),
        "round": Function(1, 2, _round, sql=True),
        "today": Function(0, 0, None, sql=True),
        "now": Function(0, 0, None, sql=True),
        "date": Function(1, 1, _to_date, sql=True),
        "decimal-date-time": Function(1, 1, _decimal_date_time, sql=True),
        "position": Function(1, 1, None, repeats=True),
        "count": Function(1, 1, _count, repeats=True),
        "sum": Function(1, 1, _sum, repeats=True),
        "max": Function(1, None, _max, repeats=True),
        "min": Function(1, None, _min, repeats=True),
        "jr:choice-name": Function(2, 2, None),
        "ends-with": Function(2, 2, _ends_with, returns_bool=True),
        "substr": Function(2, 3, _substr),
        "substring-before": Function(2, 2, _substring_before),
        "substring-after": Function(2, 2, _substring_after),
        "translate": Function(3, 3, _translate),
        "normalize-space": Function(1, 1, _normalize_space),
        "join": Function(1, None, _join),
        "boolean-from-string": Function(1, 1, _boolean_from_string, returns_bool=True),
        "boolean": Function(1, 1, _boolean, returns_bool=True),
        "digest": Function(2, 3, _digest),
        "base64-decode": Function(1, 1, _base64_decode),
        "uuid": Function(0, 1, _uuid, device=True),
        "pow": Function(2, 2, _pow),
        "log": Function(1, 1, _math(_log)),
        "log10": Function(1, 1, _math(_log10)),
        "abs": Function(1, 1, _abs),
        "sin": Function(1, 1, _math(math.sin)),
        "cos": Function(1, 1, _math(math.cos)),
        "tan": Function(1, 1, _math(math.tan)),
        "asin": Function(1, 1, _math(math.asin)),
        "acos": Function(1, 1, _math(math.acos)),
        "atan": Function(1, 1, _math(math.atan)),
        "atan2": Function(2, 2, _atan2),
        "sqrt": Function(1, 1, _math(math.sqrt)),
        "exp": Function(1, 1, _math(math.exp)),
        "exp10": Function(1, 1, _exp10),
        "pi": Function(0, 0, _pi),
        "floor": Function(1, 1, _floor),
        "ceiling": Function(1, 1, _ceiling),
        "random": Function(0, 0, _random, device=True),
        "once": Function(1, 1, _once, device=True),
        "randomize": Function(1, 2, _randomize, repeats=True, device=True),
        "date-time": Function(1, 1, _date_time),
        "decimal-time": Function(1, 1, _decimal_time),
        "format-date": Function(2, 2, _format_date),
        "format-date-time": Function(2, 2, _format_date),
        "count-non-empty": Function(1, 1, _count_non_empty, repeats=True),
        "indexed-repeat": Function(3, 11, None, repeats=True),
        "checklist": Function(2, None, _checklist, returns_bool=True),
        "weighted-checklist": Function(2, None, _weighted_checklist, returns_bool=True),
        "area": Function(1, 1, _area),
        "distance": Function(1, None, _distance),
        "pulldata": Function(4, 4, None, device=True),
    }
)
"""Function name -> its declaration; the names, in this order, are the language's functions."""
