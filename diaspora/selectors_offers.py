"""Reads for offers: a profile as a home institution sees it, an offer's conversation, and how
much of an expert's quarterly limit is used.

What an institution sees is decided by `diaspora.selectors` alone (`people_listed_for`,
`people_matchable`, `person_card`), asked on behalf of a stand-in institution viewer: the
expert's preview of their own profile is the same code path as the institution's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from accounts.models import Role, User

from .models import ExpertiseRequest, Match, Message, Offer, Person
from .selectors import people_listed_for, people_matchable, person_card, requests_visible_to, visible_groups
from .selectors_matching import offer_committed_load


def institution_viewer() -> User:
    """Any home institution's staff member (unsaved: no institution, no programme of their own).
    Institutions all pass the same visibility levels, so one stand-in sees what each of them sees."""
    return User(role=Role.INSTITUTION_STAFF, username="")


@dataclass(frozen=True)
class InstitutionView:
    listed: bool  # institutions find the person in the directory and open their page
    matchable: bool  # matching may propose the person to an institution's request
    card: dict[str, Any] | None  # selectors.person_card for an institution (None when not listed)
    groups: frozenset[str]  # the field groups institutions see ("profile", "expertise", ...)


def person_as_institution_sees(person: Person) -> InstitutionView:
    viewer = institution_viewer()
    shown = people_listed_for(viewer).filter(pk=person.pk).prefetch_related("offers", "programmes").first()
    return InstitutionView(
        listed=shown is not None,
        matchable=people_matchable().filter(pk=person.pk).exists(),
        card=person_card(viewer, shown) if shown is not None else None,
        groups=frozenset(visible_groups(viewer, shown)) if shown is not None else frozenset(),
    )


# --- conversations about an offer --------------------------------------------------------------


def _with_the_expert() -> Q:
    # The expert's side of a match's messages: notices to the institution's staff are not part of it.
    return Q(sender_id=F("match__person__user_id")) | Q(recipient_id=F("match__person__user_id"))


def match_thread(match: Match) -> QuerySet[Message]:
    """The conversation between the expert and the institution about one match, oldest first."""
    return (
        Message.objects.filter(_with_the_expert(), match=match)
        .select_related("sender__person", "recipient__person")
        .order_by("created_at", "id")
    )


def threads_for_request(request: ExpertiseRequest) -> dict[int, list[Message]]:
    """Every match's conversation of one request, in one query (the request page lists them all)."""
    threads: dict[int, list[Message]] = {}
    messages = (
        Message.objects.filter(_with_the_expert(), match__request=request)
        .select_related("sender__person", "recipient__person")
        .order_by("created_at", "id")
    )
    for message in messages:
        threads.setdefault(message.match_id, []).append(message)
    return threads


def may_follow_thread(user: User, match: Match) -> bool:
    """The expert asked, and whoever may act on the request (its institution's staff, its
    programme's administrators) follow the conversation about a match."""
    if match.person.user_id == user.pk:
        return True
    return requests_visible_to(user).filter(pk=match.request_id).exists()


def institution_contact(request: ExpertiseRequest) -> User | None:
    """Who answers for the institution when an expert replies to a notice of the platform: the
    staff member who posted the request while they still belong to the institution, else its
    longest-standing staff member."""
    staff = request.institution.staff.order_by("pk")
    if request.created_by_id and staff.filter(pk=request.created_by_id).exists():
        return request.created_by
    return staff.first()


# --- the quarterly limit -----------------------------------------------------------------------


@dataclass(frozen=True)
class LimitUse:
    used: int
    capacity: int
    unit: str  # Offer.Unit


def offer_use(match: Match) -> LimitUse | None:
    """How much of the offer behind a match this quarter's accepted engagements take."""
    offer = Offer.objects.filter(pk=match.offer_id).first() if match.offer_id else None
    if offer is None:
        return None
    return LimitUse(used=offer_committed_load(offer.pk), capacity=offer.capacity, unit=offer.unit)


def offer_use_after_accepting(match: Match) -> LimitUse | None:
    """The use the expert would see once this offer is accepted (what the confirmation shows)."""
    use = offer_use(match)
    if use is None or match.status in (Match.Status.ACCEPTED, Match.Status.ACTIVE, Match.Status.COMPLETED):
        return use
    return LimitUse(used=use.used + match.load, capacity=use.capacity, unit=use.unit)
