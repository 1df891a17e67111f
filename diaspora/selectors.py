"""Permission-aware reads of the registry.

Visibility is enforced here, in the queryset, and nowhere else: every list, search,
match, API answer and export starts from `people_listed_for` (or `people_matchable`),
so a hidden profile or a withdrawn consent cannot leak through a path that forgot a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.audit import audit_list, audit_read
from accounts.models import Role, User
from accounts.scoping import in_programmes

from .models import Consent, ExpertiseRequest, Institution, Match, MatchRun, Message, Offer, Person, Visibility

# Levels of visibility a viewer passes, by kind of viewer (administrators pass
# "administrators" only for the people of the programmes they administer).
_SIGNED_IN = (Visibility.PUBLIC,)
_INSTITUTIONS = (Visibility.PUBLIC, Visibility.INSTITUTIONS)
_EVERYONE_BUT_SELF = (Visibility.PUBLIC, Visibility.INSTITUTIONS, Visibility.ADMINISTRATORS)


def viewer_is_admin(user: User) -> bool:
    return user.is_superuser or user.role == Role.PROGRAMME_ADMIN


def _base_levels(user: User) -> tuple[str, ...]:
    if user.is_superuser:
        return _EVERYONE_BUT_SELF
    if user.role in (Role.PROGRAMME_ADMIN, Role.INSTITUTION_STAFF):
        return _INSTITUTIONS
    return _SIGNED_IN


def group_visible_q(user: User, group: str, prefix: str = "") -> Q:
    """Rows whose `group` fields this viewer may see."""
    field = f"{prefix}{group}_visibility"
    visible = Q(**{f"{field}__in": _base_levels(user)})
    if user.role == Role.PROGRAMME_ADMIN and not user.is_superuser:
        administered = Person.programmes.through.objects.filter(
            person_id=OuterRef(f"{prefix}pk"), programme__in=user.programmes.all()
        )
        visible |= Q(**{field: Visibility.ADMINISTRATORS}) & Q(Exists(administered))
    return visible


def live_consent_q(purpose: str, prefix: str = "") -> Q:
    live = Consent.objects.filter(person_id=OuterRef(f"{prefix}pk"), purpose=purpose, withdrawn_at__isnull=True)
    return Q(Exists(live))


def live_consent_q_expr(purpose: str) -> Exists:
    return Exists(Consent.objects.filter(person_id=OuterRef("pk"), purpose=purpose, withdrawn_at__isnull=True))


def stale_before() -> timezone.datetime:
    """Profiles confirmed before this moment rank lower (and are warned)."""
    return timezone.now() - timedelta(days=settings.REGISTRY_CONFIRM_DAYS)


def _not_hidden_for_staleness_q(prefix: str = "") -> Q:
    # Hidden once the warning has gone unanswered for the grace period; confirming clears the warning.
    cutoff = timezone.now() - timedelta(days=settings.REGISTRY_STALE_GRACE_DAYS)
    return Q(**{f"{prefix}stale_warned_at__isnull": True}) | Q(**{f"{prefix}stale_warned_at__gt": cutoff})


def listed_q(prefix: str = "") -> Q:
    """Listed at all (before asking who looks): active, consented to the registry, not hidden as stale."""
    return (
        Q(**{f"{prefix}status": Person.Status.ACTIVE})
        & live_consent_q(Consent.Purpose.REGISTRY, prefix)
        & _not_hidden_for_staleness_q(prefix)
    )


def may_browse_registry(user: User) -> bool:
    """Researchers work with anonymised exports only: registry people are not open to them."""
    return user.is_authenticated and (user.is_superuser or user.role != Role.RESEARCHER)


def people_listed_for(user: User) -> QuerySet[Person]:
    """Everyone this viewer may find: the root of the directory, search, API and exports."""
    if not may_browse_registry(user):
        return Person.objects.none()
    return Person.objects.filter(listed_q() & group_visible_q(user, "profile")).annotate(
        accepts_messages=live_consent_q_expr(Consent.Purpose.MESSAGES)
    )


def people_matchable() -> QuerySet[Person]:
    """Everyone matching may propose to a home institution: listed for institutions, with their
    expertise visible to institutions, and a live consent to receive proposals."""
    return Person.objects.filter(
        listed_q(),
        live_consent_q(Consent.Purpose.MATCHING),
        profile_visibility__in=_INSTITUTIONS,
        expertise_visibility__in=_INSTITUTIONS,
    )


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    field: str = ""
    skill: str = ""
    country: str = ""
    language: str = ""
    mode: str = ""


def directory(user: User, filters: DirectoryFilters) -> QuerySet[Person]:
    """The directory with its filters. A filter on a group of fields the viewer may not see
    only matches people who show that group to them, so filtering cannot reveal hidden values.
    A member of staff's reads of it are audited (the page read, with the filters)."""
    people = people_listed_for(user)
    expertise = group_visible_q(user, "expertise")
    if filters.field:
        people = people.filter(expertise, Q(field_of_study=filters.field) | Q(field_of_study__startswith=filters.field))
    if filters.skill:
        people = people.filter(expertise, _json_contains("skills", filters.skill))
    if filters.language:
        people = people.filter(expertise, _json_contains("languages", filters.language))
    if filters.mode:
        people = people.filter(expertise, Exists(Offer.objects.filter(person_id=OuterRef("pk"), mode=filters.mode)))
    if filters.country:
        people = people.filter(group_visible_q(user, "location"), country=filters.country)
    if filters.q:
        people = _search(user, people, filters.q)
    people = people.prefetch_related("offers", "programmes").order_by("display_name", "id")
    return audit_list(people, viewer=user, query=vars(filters))


def _json_contains(field: str, value: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    # SQLite has no JSON containment; the lists hold plain codes, so a quoted match is exact.
    return Q(**{f"{field}__icontains": f'"{value}"'})


def _search(user: User, people: QuerySet[Person], text: str) -> QuerySet[Person]:
    """Full-text search over what the viewer may see: name and bio always (they are the
    profile group), skills, tags and offers only where expertise is visible to them."""
    words = [w for w in text.split() if w][:8]
    expertise = group_visible_q(user, "expertise")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("display_name", weight="A", config="simple") + SearchVector(
            "bio", weight="B", config="simple"
        )
        query = SearchQuery(" ".join(words), config="simple", search_type="plain")
        searched = people.annotate(_sv=vector).filter(_sv=query)
        by_expertise = people.filter(expertise).filter(_words_q(words, ("tags", "skills")))
        return people.filter(Q(pk__in=searched.values("pk")) | Q(pk__in=by_expertise.values("pk")))
    plain = _words_q(words, ("display_name", "bio"))
    return people.filter(plain | (expertise & _words_q(words, ("tags", "skills"))))


def _words_q(words: list[str], fields: tuple[str, ...]) -> Q:
    combined = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        combined &= any_field
    return combined


def person_get_for(user: User, person_id: int) -> Person:
    person = people_listed_for(user).filter(pk=person_id).prefetch_related("offers", "programmes").first()
    if person is None:
        raise Http404("No such person.")
    if person.user_id != user.pk:
        audit_read(viewer=user, record=person)
    return person


def visible_groups(user: User, person: Person) -> set[str]:
    """The field groups of `person` this viewer sees (all of them for the person themself)."""
    if user.is_authenticated and person.user_id == user.pk:
        return {"profile", "expertise", "location", "contact"}
    levels = set(_base_levels(user))
    if user.role == Role.PROGRAMME_ADMIN and not user.is_superuser:
        # Uses the prefetched programmes of a list, and the viewer's programmes once per request.
        if not hasattr(user, "_administered_ids"):
            user._administered_ids = set(user.programmes.values_list("pk", flat=True))
        if any(p.pk in user._administered_ids for p in person.programmes.all()):
            levels.add(Visibility.ADMINISTRATORS)
    return {group for group in ("profile", "expertise", "location", "contact") if person.visibility_of(group) in levels}


def person_card(user: User, person: Person) -> dict[str, Any]:
    """A person as this viewer may see them: invisible groups are left out, never blanked in place."""
    groups = visible_groups(user, person)
    card: dict[str, Any] = {"id": person.pk, "stale": person.last_confirmed_at < stale_before()}
    if "profile" not in groups:
        return card
    card.update(
        display_name=person.display_name,
        bio=person.bio,
        occupation=person.occupation,
        programmes=[p.slug for p in person.programmes.all()],
        last_confirmed_at=person.last_confirmed_at,
    )
    if "expertise" in groups:
        card.update(
            field_of_study=person.field_of_study,
            skills=list(person.skills),
            tags=list(person.tags),
            languages=list(person.languages),
            offers=[_offer_card(offer) for offer in person.offers.all()],
        )
    if "location" in groups:
        card.update(
            country=person.country,
            city=person.city,
            timezone=person.timezone,
            home_region=person.home_region,
            departure_year=person.departure_year,
        )
    card["can_message"] = "contact" in groups and _accepts_messages(person)
    return card


def _offer_card(offer: Offer) -> dict[str, Any]:
    return {
        "mode": offer.mode,
        "capacity": offer.capacity,
        "unit": offer.unit,
        "remote": offer.remote,
        "onsite": offer.onsite,
        "note": offer.note,
    }


def _accepts_messages(person: Person) -> bool:
    annotated = getattr(person, "accepts_messages", None)  # people_listed_for annotates it
    if annotated is not None:
        return bool(annotated)
    return person.consents.filter(purpose=Consent.Purpose.MESSAGES, withdrawn_at__isnull=True).exists()


def person_of(user: User) -> Person | None:
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).prefetch_related("offers", "programmes", "consents").first()


def live_consents(person: Person) -> set[str]:
    return set(person.consents.filter(withdrawn_at__isnull=True).values_list("purpose", flat=True))


# --- institutions and requests -------------------------------------------------------------


def institutions_of(user: User) -> QuerySet[Institution]:
    if user.is_superuser:
        return Institution.objects.all()
    return Institution.objects.filter(staff=user)


def requests_visible_to(user: User) -> QuerySet[ExpertiseRequest]:
    """Staff see their institutions' requests; administrators the requests of their programmes
    (platform-wide requests, without a programme, are for superusers); superusers all."""
    requests = ExpertiseRequest.objects.select_related("institution", "programme")
    if user.role == Role.PROGRAMME_ADMIN or user.is_superuser:
        return in_programmes(requests, user)
    return requests.filter(institution__staff=user)


def request_get_for(user: User, request_id: int) -> ExpertiseRequest:
    found = requests_visible_to(user).filter(pk=request_id).first()
    if found is None:
        raise Http404("No such request.")
    return found


def runs_visible_to(user: User) -> QuerySet[MatchRun]:
    """Matching runs of the programmes the user administers (platform-wide runs: superusers)."""
    return in_programmes(MatchRun.objects.select_related("requested_by", "programme"), user)


def run_get_for(user: User, run_id: int) -> MatchRun:
    run = runs_visible_to(user).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such matching run.")
    return run


# Matches whose expert has since hidden their profile or withdrawn consent stay in the
# database (they are the record of what happened) but are never shown with the person.
def matches_for_request(user: User, request: ExpertiseRequest) -> QuerySet[Match]:
    return (
        request.matches.filter(person__in=people_matchable_or_engaged())
        .select_related("person", "offer")
        .order_by("rank", "id")
    )


def people_matchable_or_engaged() -> QuerySet[Person]:
    """People shown alongside matches: matchable ones, and ones who accepted an engagement
    (accepting is consent to be seen by that institution) as long as they are listed and
    have not since hidden their profile ("only me" outranks an earlier acceptance)."""
    engaged = Match.objects.filter(
        person_id=OuterRef("pk"),
        status__in=[Match.Status.ACCEPTED, Match.Status.ACTIVE, Match.Status.COMPLETED],
    )
    shown = listed_q() & ~Q(profile_visibility=Visibility.HIDDEN) & Q(Exists(engaged))
    return Person.objects.filter(Q(pk__in=people_matchable().values("pk")) | shown)


def matches_of_person(person: Person) -> QuerySet[Match]:
    return (
        person.matches.exclude(status=Match.Status.PROPOSED)
        .select_related("request__institution", "offer")
        .order_by("-created_at")
    )


def match_for_staff(user: User, match_id: int, *, request_id: int | None = None) -> Match:
    """A match of a request the viewer may act on, whose expert is still shown with it."""
    matches = Match.objects.filter(
        pk=match_id, request__in=requests_visible_to(user), person__in=people_matchable_or_engaged()
    )
    if request_id is not None:
        matches = matches.filter(request_id=request_id)
    match = matches.select_related("request__institution", "person").first()
    if match is None:
        raise Http404("No such match.")
    return match


# --- relayed messages ------------------------------------------------------------------------


def inbox_of(user: User) -> QuerySet[Message]:
    return Message.objects.filter(recipient=user).select_related("sender__person", "match__request")


def message_get_for(user: User, message_id: int, *, received_only: bool = False) -> Message:
    """A message to the viewer (or, unless received_only, from them); anyone else's is a 404."""
    mine = Q(recipient=user) if received_only else Q(recipient=user) | Q(sender=user)
    message = (
        Message.objects.filter(mine, pk=message_id)
        .select_related("sender__person", "recipient__person", "match__request")
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    return message


# --------------------------------------------------------------------------- aggregates for monitoring


def linkage_counts(user: User) -> dict[str, Any]:
    """Counts only (no person): registry members by status and engagements by mode and stage.

    Engagements are those of requests the user oversees (all for superusers and
    researchers, whose figures are suppressed at the public threshold by the caller).
    """
    from django.db.models import Count

    members = dict(Person.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    matches = Match.objects.filter(
        status__in=[Match.Status.ACCEPTED, Match.Status.ACTIVE, Match.Status.COMPLETED, Match.Status.OFFERED]
    )
    if user.role != Role.RESEARCHER:
        matches = in_programmes(matches, user, "request__programme")
    engagements = list(matches.values("request__mode", "status").annotate(n=Count("id")).order_by())
    return {
        "members": {str(k): int(v) for k, v in members.items()},
        "listed": people_listed_for(user).count() if may_browse_registry(user) else None,
        "engagements": [{"mode": e["request__mode"], "status": e["status"], "n": int(e["n"])} for e in engagements],
    }
