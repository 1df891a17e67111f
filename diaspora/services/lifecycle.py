"""A proposal's life: proposed -> offered -> accepted | declined | expired -> active -> completed.

Declines and expiries cascade: the request's next-best candidate is offered its place.

Every offer goes through `match_offer` (a conditional UPDATE from proposed to offered, then
the message to the expert): the batch's proposals sent from the request page or the API, a
cascade, and an institution offering one of its top 20 directly (`request_offer_person`,
which re-checks consent, visibility, capacity and free places at the moment of sending, and
answers twice the same: a person is asked about a request once).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User

from ..models import ExpertiseRequest, Match, Offer, Person
from ..selectors_matching import COMMITTED, offer_committed_load, offer_days, offers_reserved_load, request_row
from .messages import MessageRefused, notification_send, offer_message_send, offer_note_clean, offer_text


class TransitionRefused(Exception):
    """The match is not in a state that allows this, or capacity ran out: a clear reason."""


NOT_RECEIVING = gettext_lazy(
    "This expert no longer receives proposals: they paused or hid their profile, or withdrew their consent."
)


def _move(match: Match, from_statuses, **changes) -> bool:
    """A conditional UPDATE: only one of two racing transitions wins."""
    updated = Match.objects.filter(pk=match.pk, status__in=list(from_statuses)).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(match, name, value)
    return bool(updated)


def match_offer(*, match: Match, user: User | None = None, note: str = "") -> Match:
    """Send a proposal to the expert, with a deadline after which it cascades: the one way an
    offer is made. `user` is the staff member sending it (None: the platform), `note` their
    personal note (plain text)."""
    note = _clean_note(note)
    now = timezone.now()
    days = offer_days(match.request)
    if not _move(match, [Match.Status.PROPOSED], status=Match.Status.OFFERED, offered_at=now,
                 expires_at=now + timedelta(days=days)):  # fmt: skip
        raise TransitionRefused(_("Only a proposal can be offered (this one is %(status)s).") % _status(match))
    match.person = Person.objects.select_related("user").get(pk=match.person_id)
    offer_message_send(match=match, sender=user, note=note)
    return match


def request_offer_proposals(*, request: ExpertiseRequest, user: User | None = None) -> int:
    """Offer the request's proposals, skipping experts who are no longer matchable (they hid
    their profile or expertise since the run; pausing and withdrawing consent withdraw them)."""
    from ..selectors import people_matchable

    sent = 0
    proposed = request.matches.filter(status=Match.Status.PROPOSED, person__in=people_matchable())
    for match in proposed.select_related("request__institution"):
        try:
            match_offer(match=match, user=user)
            sent += 1
        except TransitionRefused:
            continue  # withdrawn or offered meanwhile
    return sent


def _clean_note(note: str) -> str:
    try:
        return offer_note_clean(note)
    except MessageRefused as exc:
        raise TransitionRefused(str(exc)) from None


# --- an institution offers one expert from its top 20 -------------------------------------------


@dataclass(frozen=True)
class OfferMade:
    match: Match
    sent: bool  # False: the person had been offered this request already; nothing was sent again


@dataclass(frozen=True)
class OfferDraft:
    """The message an offer would send, exactly: subject and body in the expert's language."""

    subject: str
    body: str
    language: str
    match: Match  # the proposal it would offer (unsaved when the person was never asked)


@transaction.atomic
def request_offer_person(*, request: ExpertiseRequest, person_id: int, user: User, note: str = "") -> OfferMade:
    """Offer the request to one expert now, with an optional personal note.

    Everything the list showed is checked again, since the candidate may have changed since
    (consent, visibility, status, capacity, the request's free places). Offering someone
    already offered returns their offer and sends nothing; the unique (request, person)
    constraint and match_offer's conditional UPDATE make two racing clicks send one offer."""
    note = _clean_note(note)
    existing = Match.objects.select_for_update().filter(request=request, person_id=person_id).first()
    if existing is not None and existing.status == Match.Status.OFFERED:
        _require_request_side(request, user)
        return OfferMade(existing, sent=False)
    match = _offer_target(request=request, person_id=person_id, user=user, existing=existing)
    if match.pk is None:
        try:
            with transaction.atomic():
                match.save()
        except IntegrityError:
            # Someone else asked this person about this request between our read and our insert.
            current = Match.objects.get(request=request, person_id=person_id)
            if current.status == Match.Status.OFFERED:
                return OfferMade(current, sent=False)
            raise TransitionRefused(_asked_already(current)) from None
    match_offer(match=match, user=user, note=note)
    return OfferMade(match, sent=True)


def offer_preview(*, request: ExpertiseRequest, person_id: int, user: User, note: str = "") -> OfferDraft:
    """What request_offer_person would send now (built by the same function, with the same checks)."""
    note = _clean_note(note)
    existing = Match.objects.filter(request=request, person_id=person_id).first()
    match = _offer_target(request=request, person_id=person_id, user=user, existing=existing)
    match.person = Person.objects.select_related("user").get(pk=person_id)
    match.request = request
    expires_at = timezone.now() + timedelta(days=offer_days(request))
    subject, body = offer_text(match=match, note=note, expires_at=expires_at, sender=user)
    return OfferDraft(subject=subject, body=body, language=match.person.user.preferred_language or "kk", match=match)


def _offer_target(*, request: ExpertiseRequest, person_id: int, user: User, existing: Match | None) -> Match:
    """The proposal to offer: the person's existing one, or a new one from a fresh ranking.
    Raises TransitionRefused with the reason when the offer is no longer possible."""
    from ..selectors import people_listed_for, people_matchable

    _require_request_side(request, user)
    if request.status != ExpertiseRequest.Status.OPEN:
        raise TransitionRefused(
            _("This request is %(status)s: only an open request can be offered.")
            % {"status": ExpertiseRequest.Status(request.status).label}
        )
    shown = people_listed_for(user).filter(pk=person_id).filter(pk__in=people_matchable().values("pk"))
    if not shown.exists():
        raise TransitionRefused(str(NOT_RECEIVING))
    if existing is not None:
        if existing.status != Match.Status.PROPOSED:
            raise TransitionRefused(_asked_already(existing))
        if existing.offer_id is None:
            raise TransitionRefused(_("This expert no longer offers this kind of engagement."))
        if not _room_for(existing):
            raise TransitionRefused(_("This expert's quarterly limit for this kind of engagement is used up."))
        return existing
    row = request_row(request)
    if row.slots <= 0:
        raise TransitionRefused(_places_held(request))
    candidate = _fresh_candidate(request, person_id)
    if candidate is None:
        raise TransitionRefused(_why_not_candidate(request, person_id))
    return _new_proposal(request, row, candidate)


def _new_proposal(request: ExpertiseRequest, row, candidate) -> Match:
    from .matching import match_from_candidate

    return match_from_candidate(candidate, row, run=None, rank=request.matches.count() + 1)


# How deep the fresh ranking looks for the chosen person: the page listed 20, and a few may have
# moved down since (someone new joined) without becoming any less suitable.
_RANK_DEPTH = 100


def _fresh_candidate(request: ExpertiseRequest, person_id: int):
    from .matching import MatchingRefused
    from .matching import request_top as rank_now

    try:
        result = rank_now(request=request, k=_RANK_DEPTH)
    except MatchingRefused:
        return None
    return next((c for c in result.candidates if c.person_id == person_id), None)


def _room_for(proposal: Match) -> bool:
    """The offer behind a proposal still holds it: what is reserved (this proposal included) fits
    the capacity (the expert may have lowered it, or accepted other engagements, since the run)."""
    capacity = Offer.objects.filter(pk=proposal.offer_id).values_list("capacity", flat=True).first()
    reserved = offers_reserved_load([proposal.offer_id]).get(proposal.offer_id, 0)
    return capacity is not None and reserved <= capacity


def _why_not_candidate(request: ExpertiseRequest, person_id: int) -> str:
    offer = Offer.objects.filter(person_id=person_id, mode=request.mode).first()
    if offer is None:
        return _("This expert no longer offers this kind of engagement.")
    demand = request.hours_per_expert if offer.unit == Offer.Unit.HOURS else 1
    if offer.capacity - offers_reserved_load([offer.pk]).get(offer.pk, 0) < demand:
        return _("This expert's quarterly limit for this kind of engagement is used up.")
    return _("This expert no longer fits the request (its languages, format or a conflict of interest).")


def _asked_already(match: Match) -> str:
    return _("This expert was already asked about this request (%(status)s); a person is asked once.") % _status(match)


def _places_held(request: ExpertiseRequest) -> str:
    from django.utils.translation import ngettext

    return ngettext(
        "The request's %(count)s place is held by an offer awaiting an answer or an accepted expert. "
        "Withdraw an offer first, or ask for more experts.",
        "All %(count)s places of the request are held by offers awaiting an answer or accepted experts. "
        "Withdraw an offer first, or ask for more experts.",
        request.experts_needed,
    ) % {"count": request.experts_needed}


def _require_request_side(request: ExpertiseRequest, user: User) -> None:
    from ..selectors import requests_visible_to

    if not requests_visible_to(user).filter(pk=request.pk).exists():
        raise TransitionRefused(_("Only the institution's staff or its programme's administrators can do this."))


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
        raise TransitionRefused(_limit_used_up(used, offer))
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


def _limit_used_up(used: int, offer: Offer) -> str:
    """Why an acceptance is refused for capacity, the limit's number deciding the plural."""
    values = {"used": used, "capacity": offer.capacity}
    if offer.unit == Offer.Unit.HOURS:
        return (
            ngettext(
                "Your limit for this quarter is used up: %(used)s of %(capacity)s hour taken.",
                "Your limit for this quarter is used up: %(used)s of %(capacity)s hours taken.",
                offer.capacity,
            )
            % values
        )
    return (
        ngettext(
            "Your limit for this quarter is used up: %(used)s of %(capacity)s engagement taken.",
            "Your limit for this quarter is used up: %(used)s of %(capacity)s engagements taken.",
            offer.capacity,
        )
        % values
    )


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
    from .matching import rank_current

    request.refresh_from_db()
    if request.status != ExpertiseRequest.Status.OPEN:
        return 0
    row = request_row(request)
    if row.slots <= 0:
        return 0
    result = rank_current(row, k=row.slots + 10)  # as the top 20: people changed since the index are fresh
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
