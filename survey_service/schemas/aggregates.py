"""Schemas of the aggregates endpoint: its query string, its JSON body, and its answer."""

from __future__ import annotations

import datetime
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate
from webargs.fields import DelimitedList

from survey_service.codes import AGE_GROUPS, SINGLE_PSU_RULES
from survey_service.models import ReviewState
from survey_service.schemas import POSITIVE
from survey_service.statistics.estimation import STATISTICS

FORMATS = ("json", "csv", "xlsx", "sdmx-csv")
_STATES = [s.value for s in ReviewState]


class Moment(fields.Field):  # type: ignore[type-arg] # marshmallow's Field is generic in 4.x
    """An ISO 8601 date (midnight UTC) or date-time with an offset."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            try:
                if len(value) == 10:
                    day = datetime.date.fromisoformat(value)
                    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
                moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                if moment.tzinfo is not None:
                    return moment.astimezone(datetime.UTC)
            except (ValueError, OverflowError):  # OverflowError: before year 1 in UTC
                pass
        raise ValidationError("an ISO 8601 date (2025-06-01) or a date-time with an offset")


def _description(text: str) -> dict[str, Any]:
    return {"metadata": {"description": text}}


class _AggregateFields(Schema):
    stat = fields.String(
        required=True,
        validate=validate.OneOf(STATISTICS),
        **_description(
            "count (unweighted units), total, mean, proportion or ratio (weighted, with "
            "standard errors)"
        ),
    )
    variable = fields.String(
        **_description(
            "A question name or an expression in the questionnaire's language "
            "(`${income_lost} / ${hh_size}`); for a proportion, a condition "
            "(`${moved_due_hazard} = 'yes'`) or a select question with `value`."
        )
    )
    value = fields.String(**_description("For a proportion: the choice counted."))
    denominator = fields.String(**_description("For a ratio: the denominator's variable."))
    unit = fields.String(
        load_default="household",
        **_description("household, or a roster (repeat) such as members: persons"),
    )
    age_groups = fields.String(
        load_default="five_year",
        validate=validate.OneOf(tuple(AGE_GROUPS)),
        **_description("Bands of by=age_group: Y0T4..Y_GE85, or broad, children, youth."),
    )
    collected_from = Moment(**_description("Collected on or after (date or date-time)."))
    collected_to = Moment(**_description("Collected before (date or date-time)."))
    weights = fields.String(
        **_description("A weight set's name; default: the design weight of the questionnaire.")
    )
    weights_version = fields.Integer(validate=POSITIVE, **_description("Default: the latest."))
    confidence = fields.Float(
        load_default=0.95, **_description("Level of the confidence intervals.")
    )
    single_psu = fields.String(
        validate=validate.OneOf(SINGLE_PSU_RULES),
        **_description("Rule for a stratum with one PSU; default from the configuration."),
    )
    margins = fields.Boolean(
        load_default=False,
        **_description("Add totals (_T) over every dimension, with secondary suppression."),
    )
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
    lang = fields.String(
        validate=validate.Length(min=2, max=16),
        **_description("Language of the labels in CSV and XLSX."),
    )
    suppression = fields.String(
        load_default="on",
        validate=validate.OneOf(("on", "off")),
        **_description("off is refused unless the service allows it (internal use)."),
    )


def _codes(text: str) -> dict[str, Any]:
    return _description(f"Only these {text} (a domain: the design keeps every PSU).")


class AggregateQuerySchema(_AggregateFields):
    """GET: lists are comma-separated."""

    by = DelimitedList(
        fields.String(),
        load_default=list,
        **_description("Dimensions: tags, select_one or calculate questions, sex, age_group."),
    )
    country = DelimitedList(fields.String(), **_codes("countries"))
    admin1 = DelimitedList(fields.String(), **_codes("regions"))
    hazard_type = DelimitedList(fields.String(), **_codes("hazard types"))
    displacement_status = DelimitedList(fields.String(), **_codes("displacement statuses"))
    review_state = DelimitedList(
        fields.String(validate=validate.OneOf(_STATES)),
        **_description("Default: every state but rejected."),
    )
    version = DelimitedList(
        fields.Integer(validate=POSITIVE),
        **_description("Questionnaire versions; default: all."),
    )


class AggregateBodySchema(_AggregateFields):
    """POST: the same fields as JSON, for long specifications; lists are arrays."""

    by = fields.List(fields.String(), load_default=list)
    country = fields.List(fields.String())
    admin1 = fields.List(fields.String())
    hazard_type = fields.List(fields.String())
    displacement_status = fields.List(fields.String())
    review_state = fields.List(fields.String(validate=validate.OneOf(_STATES)))
    version = fields.List(fields.Integer(validate=POSITIVE))
    population_psus = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(validate=POSITIVE),
        **_description("Population PSUs of each stratum, for a finite population correction."),
    )


class AggregateCellSchema(Schema):
    """One cell: its code per dimension (named after the dimension), then the figures."""

    class Meta:
        unknown = INCLUDE  # the dimensions' codes, under the dimensions' names

    estimate = fields.Float(required=True, allow_none=True)
    se = fields.Float(required=True, allow_none=True)
    ci_low = fields.Float(required=True, allow_none=True)
    ci_high = fields.Float(required=True, allow_none=True)
    cv = fields.Float(required=True, allow_none=True)
    deff = fields.Float(required=True, allow_none=True)
    df = fields.Integer(required=True, allow_none=True)
    n = fields.Integer(required=True, allow_none=True, **_description("Unweighted units."))
    sum_weights = fields.Float(required=True, allow_none=True)
    OBS_STATUS = fields.String(
        required=True, **_description("A normal, U low reliability, Q suppressed")
    )
    CONF_STATUS = fields.String(
        required=True, **_description("F free, A primary, D secondary suppression")
    )


def _either(text: str, *schemas: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"description": text, "oneOf": list(schemas)}}


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}


class AggregateTableSchema(Schema):
    """The JSON answer: the cells, then what they estimate and how (`to_json`)."""

    cells = fields.List(fields.Nested(AggregateCellSchema), required=True)
    dimensions = fields.List(fields.String(), required=True)
    questionnaire = fields.String(required=True)
    definition_version = fields.Integer(
        required=True, **_description("The version whose definition planned the table.")
    )
    versions = fields.Raw(
        required=True,
        **_either(
            "The versions counted.",
            {"type": "array", "items": _INTEGER},
            {"const": "all"},
        ),
    )
    stat = fields.String(required=True)
    variable = fields.String(required=True, **_description("'units' for a count."))
    value = fields.String(required=True, allow_none=True)
    denominator = fields.String(required=True, allow_none=True)
    unit = fields.String(required=True)
    filters = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    review_states = fields.Raw(
        required=True,
        **_either(
            "The review states counted.",
            {"type": "array", "items": _STRING},
            {"const": "all but rejected"},
        ),
    )
    weights = fields.Raw(
        required=True,
        **_either(
            "The weight set used, or the design weight of the questionnaire.",
            {
                "type": "object",
                "properties": {"name": _STRING, "version": _INTEGER},
                "required": ["name", "version"],
            },
            {"const": "design"},
        ),
    )
    confidence = fields.Float(required=True)
    single_psu = fields.String(required=True)
    design = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        **_description("strata, PSUs and degrees of freedom"),
    )
    excluded_without_weight = fields.Integer(required=True)
    margins = fields.Boolean(required=True)
    disclosure_control = fields.Raw(
        required=True,
        **_either(
            "Its threshold, the CV above which a value is flagged, secondary suppression; or "
            "why it is off.",
            {"type": "object"},
            _STRING,
        ),
    )
    reference_period = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        allow_none=True,
        **_description("First and last day of collection (from, to); null without responses."),
    )
    generated_at = fields.DateTime(required=True)
