"""Write use cases of the surveys app, one module per sub-domain."""

from .core import (
    ImportResult,
    PublishRefused,
    ResponseConflict,
    SubmissionInvalid,
    response_submit,
    response_update,
    survey_import_xlsform,
    version_publish,
)

__all__ = [
    "ImportResult",
    "PublishRefused",
    "ResponseConflict",
    "SubmissionInvalid",
    "response_submit",
    "response_update",
    "survey_import_xlsform",
    "version_publish",
]
