from .messages import Message
from .obligations import (
    EmployerConfirmation,
    Episode,
    ObligationDigest,
    ObligationImport,
    ObligationPause,
    ObligationRecompute,
    ObligationRule,
    ObligationStatus,
    Participation,
    StatusChange,
)
from .registry import DEFAULT_VISIBILITY, FIELD_GROUPS, VISIBILITY_ORDER, Consent, Mode, Offer, Person, Visibility
from .requests import ExpertiseRequest, Institution, Match, MatchingSettings, MatchRun

__all__ = [
    "DEFAULT_VISIBILITY",
    "FIELD_GROUPS",
    "VISIBILITY_ORDER",
    "Consent",
    "EmployerConfirmation",
    "Episode",
    "ExpertiseRequest",
    "Institution",
    "Match",
    "MatchRun",
    "MatchingSettings",
    "Message",
    "Mode",
    "ObligationDigest",
    "ObligationRecompute",
    "ObligationImport",
    "ObligationPause",
    "ObligationRule",
    "ObligationStatus",
    "Offer",
    "Participation",
    "Person",
    "StatusChange",
    "Visibility",
]
