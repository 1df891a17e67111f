"""The wording people agree to, versioned: a consent record keeps the version it was given under."""

from django.utils.translation import gettext_lazy as _

from .models import Consent

CONSENT_TEXTS = {
    Consent.Purpose.REGISTRY: (
        "2026-11",
        _(
            "List my profile in the Kelu registry of diaspora professionals, showing each group of fields "
            "only to the people I chose. I can hide my profile or withdraw this consent at any time."
        ),
    ),
    Consent.Purpose.MATCHING: (
        "2026-11",
        _(
            "Use my expertise, languages, location and offers to propose me to home institutions' requests. "
            "A proposal tells me why I was matched; I decide whether to accept."
        ),
    ),
    Consent.Purpose.MESSAGES: (
        "2026-11",
        _(
            "Let institutions and administrators write to me through the platform. My e-mail address is "
            "never shown to them; I am told by e-mail that a message is waiting."
        ),
    ),
}


def current_version(purpose: str) -> str:
    return CONSENT_TEXTS[purpose][0]
