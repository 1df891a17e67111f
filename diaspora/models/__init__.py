from .messages import Message
from .registry import DEFAULT_VISIBILITY, FIELD_GROUPS, VISIBILITY_ORDER, Consent, Mode, Offer, Person, Visibility
from .requests import ExpertiseRequest, Institution, Match, MatchingSettings, MatchRun

__all__ = [
    "DEFAULT_VISIBILITY",
    "FIELD_GROUPS",
    "VISIBILITY_ORDER",
    "Consent",
    "ExpertiseRequest",
    "Institution",
    "Match",
    "MatchRun",
    "MatchingSettings",
    "Message",
    "Mode",
    "Offer",
    "Person",
    "Visibility",
]
