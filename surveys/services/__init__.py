"""Write use cases of the surveys app, one module per sub-domain."""

from .responses import (
    AlreadyAnswered,
    InvitationRequired,
    QuotaFull,
    ResponseConflict,
    SubmissionInvalid,
    SubmissionRefused,
    WaveClosed,
    WaveRequired,
    response_submit,
    response_update,
)
from .versions import (
    ImportForbidden,
    ImportNeedsProgramme,
    ImportResult,
    PublishRefused,
    survey_import_xlsform,
    version_publish,
)

__all__ = [
    "AlreadyAnswered",
    "ImportForbidden",
    "ImportNeedsProgramme",
    "ImportResult",
    "InvitationRequired",
    "PublishRefused",
    "QuotaFull",
    "ResponseConflict",
    "SubmissionInvalid",
    "SubmissionRefused",
    "WaveClosed",
    "WaveRequired",
    "response_submit",
    "response_update",
    "survey_import_xlsform",
    "version_publish",
]
