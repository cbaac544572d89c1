"""Published versions as the service uses them: everything derived from one, built once per process.

A published version never changes, so what is derived from its stored definition (the checked
definition, the response validator, the analysis layout and its projector, the XForm) is built
the first time a request needs it and kept in one cache, keyed by the version's id and content
hash (ids are reused when a test database is emptied).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from survey_service.analysis.layout import AnalysisLayout, Projector
from survey_service.models import QuestionnaireVersion
from survey_service.queries import questionnaires as queries
from survey_service.questionnaire.definition import Definition, load_definition
from survey_service.questionnaire.xform import xform_from_definition, xform_hash
from survey_service.validation import ResponseValidator

_CACHE_SIZE = 64


@dataclass(frozen=True)
class XForm:
    """A version's XForm XML and its OpenRosa hash."""

    xml: str
    hash: str


class PublishedVersion:
    """A published version and what is derived from it, each part built on first use."""

    def __init__(self, number: int, definition: dict[str, Any], layout: dict[str, Any]) -> None:
        self.number = number
        self._definition = definition
        self._layout = layout
        self._file_validator: ResponseValidator | None = None

    @cached_property
    def definition(self) -> Definition:
        """The checked, typed definition (checking takes a tenth of a second)."""
        return load_definition(self._definition)

    @cached_property
    def layout(self) -> AnalysisLayout:
        return AnalysisLayout.from_json(self._layout)

    @cached_property
    def validator(self) -> ResponseValidator:
        """The validator of its responses; one whose select questions take their choices
        from the version's CSV files is `file_validator`."""
        return ResponseValidator(self.definition)

    @cached_property
    def _file_sources(self) -> tuple[list[str], list[str]]:
        """The CSV files its select questions take choices from, and the pulldata() tables
        it reads: found once, not on every household (each is a walk of the definition)."""
        return self.definition.choices_files, self.definition.pulldata_tables

    def file_validator(
        self, read: Callable[[str], Sequence[Mapping[str, str]] | None]
    ) -> ResponseValidator:
        """The validator, with the choices of the CSV files its select questions name and
        the tables pulldata() reads (`read(filename)`: the rows of one of the version's
        files), built once."""
        files, instances = self._file_sources
        if not files and not instances:
            return self.validator
        with _lock:
            built = self._file_validator
        if built is None:
            # publishing refuses a version without its choices files; a pulldata() table
            # it lacks (None) leaves the calculations calling it to the client
            choices = {name: read(name) or () for name in files}
            tables = {name: rows for name in instances if (rows := read(f"{name}.csv"))}
            built = ResponseValidator(self.definition.with_file_choices(choices), tables)
            with _lock:
                self._file_validator = built
        return built

    @cached_property
    def projector(self) -> Projector:
        """Fills the analysis arrays of a household's answers."""
        return Projector(self.layout, self.definition)

    @cached_property
    def xform(self) -> XForm:
        """The XForm data-collection clients download (it carries the version number)."""
        xml = xform_from_definition(self.definition.raw, version=self.number)
        return XForm(xml, xform_hash(xml))


_cache: dict[tuple[int, str], PublishedVersion] = {}
_lock = threading.Lock()


def _cached(key: tuple[int, str], read: Callable[[], PublishedVersion]) -> PublishedVersion:
    """The cached version of `key`, or the one `read` makes, kept (the oldest dropped)."""
    found = _cache.get(key)
    if found is None:
        made = read()
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            found = _cache.setdefault(key, made)
    return found


def published_version(session: Session, version_id: int, content_hash: str) -> PublishedVersion:
    """The published version `version_id`, from the cache or read now."""
    return _cached(
        (version_id, content_hash),
        lambda: PublishedVersion(*queries.version_content(session, version_id)),
    )


def published(version: QuestionnaireVersion) -> PublishedVersion:
    """The cached derivations of a version row already loaded."""
    return _cached(
        (version.id, version.content_hash),
        lambda: PublishedVersion(version.version, version.definition, version.analysis_layout),
    )
