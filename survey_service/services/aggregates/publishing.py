"""The published table: disclosure control (`statistics.disclosure`) over the estimates, their
labels, and the metadata that says how they were made."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Final

from survey_service.exports.tables import VALUE_COLUMNS, Table
from survey_service.models import WeightSet
from survey_service.services.aggregates.estimation import NOT_APPLICABLE, Rows
from survey_service.services.aggregates.planning import Plan
from survey_service.services.aggregates.request import AggregateRequest
from survey_service.statistics.disclosure import (
    CONF_FREE,
    TOTAL,
    Cell,
    Protected,
    obs_status,
    protect,
)
from survey_service.statistics.estimation import Design, Estimate

_MAX_CV: Final = 0.30
_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    TOTAL: {"en": "Total", "ru": "Всего"},
    NOT_APPLICABLE: {"en": "Not applicable or not stated", "ru": "Не применимо или не указано"},
}


def published_table(
    request: AggregateRequest,
    plan: Plan,
    estimates: list[Estimate],
    data: Rows,
    design: Design,
    *,
    threshold: int,
    weights: WeightSet | None,
    now: datetime.datetime,
    qid: str,
) -> Table:
    """The estimates as the published table: disclosure control (unless switched off for
    internal use), reliability flags, labels and the metadata of how they were made."""
    names = [d.name for d in plan.dimensions]
    stat = request.stat
    # a table without dimensions is its grand total (protect wants a dimension)
    table = [Cell(e.cell or (TOTAL,), e.n, e.estimate, e.cv) for e in estimates]
    if request.suppression:
        flags = protect(
            table, threshold=threshold, max_cv=_MAX_CV, additive=stat in ("count", "total")
        )
    else:  # internal use: every cell free, reliability flagged all the same
        flags = {c.key: Protected(c.key, False, CONF_FREE, obs_status(c, _MAX_CV)) for c in table}
    cells: list[dict[str, Any]] = []
    for e, published in zip(estimates, table, strict=True):
        cell: dict[str, Any] = dict(zip(names, e.cell, strict=True))
        cell.update({name: getattr(e, name) for name in VALUE_COLUMNS})
        if stat == "count" and e.estimate is not None:
            cell["estimate"] = int(e.estimate)  # a count of units is a whole number
        flag = flags[published.key]
        cell["OBS_STATUS"], cell["CONF_STATUS"] = flag.obs_status, flag.conf_status
        if flag.suppressed:  # nothing a suppressed value could be derived from
            cell.update(dict.fromkeys(VALUE_COLUMNS))
        cells.append(cell)
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for dimension in plan.dimensions:
        labels[dimension.name] = {code: dict(text) for code, text in dimension.labels.items()}
        for code, text in _LABELS.items():
            labels[dimension.name].setdefault(code, dict(text))
    variable = request.variable or "units"
    labels["_variable"] = {variable: dict(plan.variable_label)}
    strata = sum(1 for n in design.psus_per_stratum.values() if n > 0)
    metadata: dict[str, Any] = {
        "questionnaire": qid,
        "definition_version": plan.version,
        "versions": list(request.versions) if request.versions else "all",
        "stat": request.stat,
        "variable": variable,
        "value": request.value,
        "denominator": request.denominator,
        "unit": plan.unit,
        "filters": {k: list(v) for k, v in request.filters.items() if v},
        "review_states": list(request.review_states)
        if request.review_states
        else "all but rejected",
        "weights": (
            {"name": weights.name, "version": weights.version} if weights is not None else "design"
        ),
        "confidence": request.confidence,
        "single_psu": design.single_psu,
        "design": {
            "strata": strata,
            "psus": sum(design.psus_per_stratum.values()),
            "df": sum(design.psus_per_stratum.values()) - strata,
        },
        "excluded_without_weight": data.excluded_without_weight,
        "margins": request.margins,
        "disclosure_control": (
            {"threshold": threshold, "max_cv": _MAX_CV, "secondary": request.margins}
            if request.suppression
            else "off: internal use only, not for publication"
        ),
        "reference_period": (
            {"from": data.first.date().isoformat(), "to": data.last.date().isoformat()}
            if data.first is not None and data.last is not None
            else None
        ),
        "generated_at": now.isoformat(),
    }
    return Table(dimensions=names, cells=cells, metadata=metadata, labels=labels)
