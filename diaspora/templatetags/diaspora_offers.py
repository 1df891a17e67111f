"""`{% quarterly_limit match %}`: how much of the expert's quarterly limit is used, in words."""

from __future__ import annotations

from django import template
from django.utils.translation import ngettext

from ..models import Match, Offer
from ..selectors_offers import LimitUse, offer_use

register = template.Library()


def limit_text(use: LimitUse) -> str:
    """'Quarterly limit: 2 of 3 engagements used' (the capacity decides the plural)."""
    values = {"used": use.used, "capacity": use.capacity}
    if use.unit == Offer.Unit.HOURS:
        return (
            ngettext(
                "Quarterly limit: %(used)s of %(capacity)s hour used",
                "Quarterly limit: %(used)s of %(capacity)s hours used",
                use.capacity,
            )
            % values
        )
    return (
        ngettext(
            "Quarterly limit: %(used)s of %(capacity)s engagement used",
            "Quarterly limit: %(used)s of %(capacity)s engagements used",
            use.capacity,
        )
        % values
    )


@register.simple_tag
def quarterly_limit(match: Match) -> str:
    use = offer_use(match)
    return limit_text(use) if use is not None else ""
