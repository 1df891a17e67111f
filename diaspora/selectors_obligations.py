"""Who sees which participations, episodes and documents: decided here, once.

Programme administrators see the participations of the programmes they administer (all of
them for a superuser); a participant sees their own, reached through their registry profile or
their survey respondent record. Nobody else sees any. Every page, API view, export and admin
list of obligations starts from these querysets.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.audit import audit_list, audit_read
from accounts.models import Role, User
from accounts.scoping import administered, in_programmes

from .models import Episode, ObligationImport, ObligationRule, Participation


def participations_administered(user: User) -> QuerySet[Participation]:
    return in_programmes(Participation.objects.all(), user).select_related("programme", "rule")


def participations_for_monitoring(user: User) -> QuerySet[Participation]:
    """Whose aggregates a user's monitoring pages count: administrators their programmes', researchers
    every programme's (they see only suppressed figures, never a participant)."""
    if user.is_authenticated and not user.is_superuser and user.role == Role.RESEARCHER:
        return Participation.objects.select_related("programme", "rule")
    return participations_administered(user)


def participations_at_risk(user: User, programme_id: int) -> QuerySet[Participation]:
    """The programme's participants at risk, soonest deadline first (audited: names are shown)."""
    rows = (
        participations_administered(user)
        .filter(programme_id=programme_id, at_risk=True)
        .order_by("deadline", "full_name", "id")
    )
    return audit_list(rows, viewer=user, query={"at_risk": "1"}, programme_id=programme_id)


def participants_listed(user: User, **filters: str) -> QuerySet[Participation]:
    """The administrators' participants list with its filters (`participant_filter`), audited."""
    rows = participant_filter(participations_administered(user), **filters).order_by(
        "programme__slug", "cohort", "full_name", "id"
    )
    slug = filters.get("programme")
    programme_id = administered(user).filter(slug=slug).values_list("pk", flat=True).first() if slug else None
    return audit_list(rows, viewer=user, query=filters, programme_id=programme_id)


def participations_own(user: User) -> QuerySet[Participation]:
    if not user.is_authenticated:
        return Participation.objects.none()
    return (
        Participation.objects.filter(Q(person__user=user) | Q(respondent__user=user))
        .select_related("programme", "rule")
        .distinct()
    )


def participation_for(user: User, participation_id: int) -> tuple[Participation | None, bool]:
    """The participation if `user` may see it, and whether they see it as its administrator."""
    administered = participations_administered(user).filter(pk=participation_id).first()
    if administered is not None:
        audit_read(viewer=user, record=administered, programme_id=administered.programme_id)
        return administered, True
    return participations_own(user).filter(pk=participation_id).first(), False


def rules_administered(user: User) -> QuerySet[ObligationRule]:
    return in_programmes(ObligationRule.objects.all(), user).select_related("programme")


def imports_administered(user: User) -> QuerySet[ObligationImport]:
    return in_programmes(ObligationImport.objects.all(), user).select_related("programme", "created_by")


def documents_to_review(user: User) -> QuerySet[Episode]:
    return (
        Episode.objects.filter(participation__in=participations_administered(user), review=Episode.Review.PENDING)
        .select_related("participation", "participation__programme")
        .order_by("created_at")
    )


def participant_filter(
    queryset: QuerySet[Participation],
    *,
    programme: str = "",
    cohort: str = "",
    status: str = "",
    at_risk: str = "",
    region: str = "",
    tier: str = "",
    search: str = "",
    on: dt.date | None = None,
) -> QuerySet[Participation]:
    """The administrators' list filters (a value no row can hold matches nothing rather than fail)."""
    values = (programme, cohort, status, at_risk, region, tier, search)
    if any("\x00" in value for value in values):
        return queryset.none()  # PostgreSQL text cannot hold NUL: no row matches it
    if programme:
        queryset = queryset.filter(programme__slug=programme)
    if cohort.isdecimal() and len(cohort) <= 4:
        queryset = queryset.filter(cohort=int(cohort))
    if status:
        queryset = queryset.filter(status=status)
    if at_risk in ("1", "yes", "true"):
        queryset = queryset.filter(at_risk=True)
    if region:
        # Where they are now: an episode in the region that has not ended.
        on = on or dt.date.today()
        current = Episode.objects.filter(participation=OuterRef("pk"), region=region, start__lte=on).filter(
            Q(end__isnull=True) | Q(end__gte=on)
        )
        queryset = queryset.filter(Exists(current))
    if tier in ("0", "1", "2", "3", "4"):
        queryset = queryset.filter(basis_tier__gte=int(tier)) if int(tier) else queryset.filter(basis_tier=0)
    if search:
        queryset = queryset.filter(Q(full_name__icontains=search) | Q(external_id__icontains=search))
    return queryset
