"""A proposal's life: proposed -> offered -> accepted | declined | expired -> active -> completed.

Declines and expiries cascade: the request's next-best candidate is offered its place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User

from ..matching.engine import rank_for_request
from ..models import ExpertiseRequest, Match, Offer, Person
from ..selectors_matching import COMMITTED, offer_committed_load, offer_days, request_row
from .messages import notification_send


class TransitionRefused(Exception):
    """The match is not in a state that allows this, or capacity ran out: a clear reason."""


def _move(match: Match, from_statuses, **changes) -> bool:
    """A conditional UPDATE: only one of two racing transitions wins."""
    updated = Match.objects.filter(pk=match.pk, status__in=list(from_statuses)).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(match, name, value)
    return bool(updated)


def match_offer(*, match: Match) -> Match:
    """Send a proposal to the expert, with a deadline after which it cascades."""
    now = timezone.now()
    days = offer_days(match.request)
    if not _move(match, [Match.Status.PROPOSED], status=Match.Status.OFFERED, offered_at=now,
                 expires_at=now + timedelta(days=days)):  # fmt: skip
        raise TransitionRefused(_("Only a proposal can be offered (this one is %(status)s).") % _status(match))
    _notify_offer(match)
    return match


def request_offer_proposals(*, request: ExpertiseRequest) -> int:
    """Offer the request's proposals, skipping experts who are no longer matchable (they hid
    their profile or expertise since the run; pausing and withdrawing consent withdraw them)."""
    from ..selectors import people_matchable

    sent = 0
    proposed = request.matches.filter(status=Match.Status.PROPOSED, person__in=people_matchable())
    for match in proposed.select_related("request__institution"):
        try:
            match_offer(match=match)
            sent += 1
        except TransitionRefused:
            continue  # withdrawn or offered meanwhile
    return sent


def _notify_offer(match: Match) -> None:
    from ..explanations import explain

    person = Person.objects.select_related("user").get(pk=match.person_id)
    language = person.user.preferred_language or "kk"
    request = match.request
    context = {
        "institution": request.institution.name,
        "title": request.title,
        "why": "; ".join(explain(match, language=language, show_location=True)),
        "expires": date_format(timezone.localtime(match.expires_at), "DATE_FORMAT"),
    }
    notification_send(user=person.user, kind="offer", context=context, match=match)


@transaction.atomic
def match_accept(*, match: Match, user: User) -> Match:
    """The expert accepts. Capacity is checked in the same transaction, under a lock on the
    offer row: two acceptances racing for the last place are serialised by that lock, and
    the second one sees the first one's load and is refused."""
    if match.person.user_id != user.pk:
        raise TransitionRefused(_("Only the expert asked can accept."))
    offer = Offer.objects.select_for_update().filter(pk=match.offer_id).first()
    current = Match.objects.select_for_update().get(pk=match.pk)
    if current.status != Match.Status.OFFERED:
        raise TransitionRefused(_("This offer can no longer be accepted (it is %(status)s).") % _status(current))
    if current.expires_at and current.expires_at <= timezone.now():
        raise TransitionRefused(_("This offer expired; the institution has been offered another expert."))
    if offer is None:
        raise TransitionRefused(_("You no longer offer this kind of engagement; add it to your profile first."))
    used = offer_committed_load(offer.pk, exclude_match_id=current.pk)
    if used + current.load > offer.capacity:
        raise TransitionRefused(
            _("Your capacity for this quarter is used up: %(used)s of %(capacity)s %(unit)s taken.")
            % {"used": used, "capacity": offer.capacity, "unit": offer.get_unit_display()}
        )
    now = timezone.now()
    Match.objects.filter(pk=current.pk).update(status=Match.Status.ACCEPTED, responded_at=now)
    match.status, match.responded_at = Match.Status.ACCEPTED, now
    _fill_if_complete(match.request)
    for staff in match.request.institution.staff.all():
        notification_send(
            user=staff, kind="accepted", context={"person": match.person.display_name, "title": match.request.title},
            match=match,
        )  # fmt: skip
    return match


def _fill_if_complete(request: ExpertiseRequest) -> None:
    if request.matches.filter(status__in=COMMITTED).count() >= request.experts_needed:
        ExpertiseRequest.objects.filter(pk=request.pk, status=ExpertiseRequest.Status.OPEN).update(
            status=ExpertiseRequest.Status.FILLED
        )


def match_decline(*, match: Match, user: User, reason: str = "") -> Match:
    if match.person.user_id != user.pk:
        raise TransitionRefused(_("Only the expert asked can decline."))
    if not _move(match, [Match.Status.OFFERED], status=Match.Status.DECLINED, responded_at=timezone.now(),
                 decline_reason=(reason or "")[:300]):  # fmt: skip
        raise TransitionRefused(_("This offer can no longer be declined (it is %(status)s).") % _status(match))
    request_cascade(request=match.request)
    return match


def match_activate(*, match: Match, user: User) -> Match:
    """The institution confirms the engagement has started."""
    _require_staff(match, user)
    if not _move(match, [Match.Status.ACCEPTED], status=Match.Status.ACTIVE, activated_at=timezone.now()):
        raise TransitionRefused(_("Only an accepted engagement can start (this one is %(status)s).") % _status(match))
    return match


def match_complete(*, match: Match, user: User, rating: int | None, feedback: str = "") -> Match:
    _require_staff(match, user)
    _check_rating(rating)
    if not _move(match, [Match.Status.ACTIVE], status=Match.Status.COMPLETED, completed_at=timezone.now(),
                 institution_rating=rating, institution_feedback=(feedback or "")[:2000]):  # fmt: skip
        raise TransitionRefused(
            _("Only an active engagement can be completed (this one is %(status)s).") % _status(match)
        )
    return match


def match_expert_feedback(*, match: Match, user: User, rating: int | None, feedback: str = "") -> Match:
    if match.person.user_id != user.pk:
        raise TransitionRefused(_("Only the expert can leave this feedback."))
    _check_rating(rating)
    if not _move(match, [Match.Status.COMPLETED, Match.Status.ACTIVE], expert_rating=rating,
                 expert_feedback=(feedback or "")[:2000]):  # fmt: skip
        raise TransitionRefused(_("Feedback is for active or completed engagements."))
    return match


def match_withdraw(*, match: Match, user: User) -> Match:
    """The institution or an administrator takes back a proposal or an open offer."""
    _require_staff(match, user)
    if not _move(match, [Match.Status.PROPOSED, Match.Status.OFFERED], status=Match.Status.WITHDRAWN):
        raise TransitionRefused(
            _("Only a proposal or an open offer can be withdrawn (this one is %(status)s).") % _status(match)
        )
    return match


def matches_withdraw_pending(*, person: Person, reason: str) -> int:
    """A person who paused, closed or withdrew consent is asked nothing more."""
    return Match.objects.filter(person=person, status__in=[Match.Status.PROPOSED, Match.Status.OFFERED]).update(
        status=Match.Status.WITHDRAWN, decline_reason=reason
    )


def _require_staff(match: Match, user: User) -> None:
    from ..selectors import requests_visible_to

    if not requests_visible_to(user).filter(pk=match.request_id).exists():
        raise TransitionRefused(_("Only the institution's staff or its programme's administrators can do this."))


def _check_rating(rating: int | None) -> None:
    if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
        raise TransitionRefused(_("A rating is a whole number from 1 to 5."))


def _status(match: Match) -> dict[str, str]:
    return {"status": Match.Status(match.status).label}


# --- expiry and cascade --------------------------------------------------------------------


@dataclass
class ExpireResult:
    expired: int = 0
    cascaded: int = 0


def matches_expire_due(*, now=None) -> ExpireResult:
    """Offers past their deadline expire (each by a conditional UPDATE, so a late acceptance
    and the expiry cannot both win) and their requests' next candidates are offered."""
    now = now or timezone.now()
    result = ExpireResult()
    due = Match.objects.filter(status=Match.Status.OFFERED, expires_at__lte=now).select_related("request")
    touched: dict[int, ExpertiseRequest] = {}
    for match in due.iterator():
        if _move(match, [Match.Status.OFFERED], status=Match.Status.EXPIRED, responded_at=now):
            result.expired += 1
            touched[match.request_id] = match.request
    for request in touched.values():
        result.cascaded += request_cascade(request=request)
    return result


def request_cascade(*, request: ExpertiseRequest) -> int:
    """Offer the request's free places to its next-best candidates (who were never asked)."""
    from .matching import expert_index

    request.refresh_from_db()
    if request.status != ExpertiseRequest.Status.OPEN:
        return 0
    row = request_row(request)
    if row.slots <= 0:
        return 0
    result = rank_for_request(expert_index(), row, k=row.slots + 10)
    offered = 0
    for candidate in result.candidates:
        if offered >= row.slots:
            break
        if _offer_candidate(request, row, candidate):
            offered += 1
    return offered


def _offer_candidate(request: ExpertiseRequest, row, candidate) -> bool:
    from .matching import match_from_candidate, still_available

    if not still_available([candidate], row.hours_per_expert):
        return False
    rank = request.matches.count() + 1
    match = match_from_candidate(candidate, replace(row), run=None, rank=rank)
    try:
        with transaction.atomic():
            match.save()
    except IntegrityError:
        return False  # asked meanwhile by another cascade
    match_offer(match=match)
    return True
