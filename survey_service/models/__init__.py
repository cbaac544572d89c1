"""ORM models: every table of the service, imported here so the metadata is complete."""

from survey_service.models.account import ApiToken, Principal, Role, User
from survey_service.models.media import FormMedia
from survey_service.models.questionnaire import (
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
)
from survey_service.models.response import (
    Attachment,
    Response,
    ResponseRevision,
    ResponseUnit,
    ReviewEvent,
    ReviewState,
)
from survey_service.models.weights import WeightSet, WeightSetEntry

__all__ = [
    "ApiToken",
    "Attachment",
    "FormMedia",
    "Principal",
    "Questionnaire",
    "QuestionnaireStatus",
    "QuestionnaireVersion",
    "Response",
    "ResponseRevision",
    "ResponseUnit",
    "ReviewEvent",
    "ReviewState",
    "Role",
    "User",
    "WeightSet",
    "WeightSetEntry",
]
