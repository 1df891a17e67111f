from .core import (
    Response,
    ResponseRemoval,
    Survey,
    SurveyVersion,
    Wave,
    WaveDataVersion,
    content_digest,
    default_reminder_days,
)
from .exports import ExportJob
from .invitations import Invitation, OutgoingEmail, Quota
from .jobs import InvitationSendJob
from .panels import Panel, PanelImport, PanelMember, Respondent
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ExportJob",
    "Invitation",
    "InvitationSendJob",
    "OutgoingEmail",
    "Panel",
    "PanelImport",
    "PanelMember",
    "Quota",
    "Respondent",
    "Response",
    "ResponseRemoval",
    "Survey",
    "SurveyVersion",
    "Wave",
    "WaveDataVersion",
    "WebhookDelivery",
    "WebhookEndpoint",
    "content_digest",
    "default_reminder_days",
]
