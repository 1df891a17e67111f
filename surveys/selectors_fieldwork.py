"""Reads for fieldwork pages: choice lists, a wave's invitations and letters, its send jobs.

Scoped like ``selectors_admin``: versions and panels of the programmes the user
administers; another programme's wave, job or letter is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from accounts.scoping import in_programmes

from .models import Invitation, InvitationSendJob, OutgoingEmail, Panel, PanelMember, SurveyVersion, Wave
from .services.invitations import STOPPED

HELD = "held"  # the invitations filter for "a letter is held": not a status of its own


def versions_fieldable_by(user: User) -> QuerySet[SurveyVersion]:
    """Published versions of the surveys the user administers, newest first within each survey."""
    versions = SurveyVersion.objects.filter(status=SurveyVersion.Status.PUBLISHED).select_related("survey")
    return in_programmes(versions, user, "survey__programme").order_by("survey__title", "survey__slug", "-number")


def version_fieldable_get(user: User, pk: int | str | None) -> SurveyVersion | None:
    if not str(pk or "").isdigit():
        return None
    return versions_fieldable_by(user).filter(pk=int(pk)).first()


def panels_for(user: User, programme_id: int | None) -> QuerySet[Panel]:
    """The user's panels of one programme (a wave invites a panel of its survey's programme)."""
    panels = in_programmes(Panel.objects.all(), user, "programme").filter(programme_id=programme_id)
    return panels.annotate(member_count=Count("members")).order_by("name", "slug")


def wave_for_settings(user: User, slug: str) -> Wave:
    waves = Wave.objects.select_related("survey", "survey__programme", "version", "panel")
    wave = in_programmes(waves, user, "survey__programme").filter(slug=slug).first()
    if wave is None:
        raise Http404("No such wave.")
    return wave


# --------------------------------------------------------------------------- invitations


def wave_invitations(wave: Wave, *, status: str = "", search: str = "") -> QuerySet[Invitation]:
    """A wave's invitations with the name its panel holds and their held letters, filtered."""
    member_name = PanelMember.objects.filter(panel_id=wave.panel_id, respondent_id=OuterRef("respondent_id")).values(
        "name"
    )[:1]
    held = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).order_by("sequence")
    invitations = (
        Invitation.objects.filter(wave=wave)
        .select_related("respondent")
        .annotate(member_name=Subquery(member_name))
        .prefetch_related(Prefetch("emails", queryset=held, to_attr="held"))
        .order_by("id")
    )
    if status == HELD:
        invitations = invitations.filter(emails__status=OutgoingEmail.Status.FAILED).exclude(status__in=STOPPED)
        invitations = invitations.distinct()
    elif status in Invitation.Status.values:
        invitations = invitations.filter(status=status)
    search = search.strip()
    if search:
        invitations = invitations.filter(Q(respondent__email__icontains=search) | Q(member_name__icontains=search))
    return invitations


@dataclass(frozen=True)
class LetterCounts:
    """The letters of a wave: invitations (first letters) and reminders, by where they stand."""

    invitations_sent: int
    invitations_waiting: int
    reminders_sent: int
    reminders_waiting: int
    held: int

    @property
    def invitations_total(self) -> int:
        return self.invitations_sent + self.invitations_waiting

    @property
    def percent_sent(self) -> int:
        total = self.invitations_total
        return round(100 * self.invitations_sent / total) if total else 0


def wave_letter_counts(wave: Wave) -> LetterCounts:
    status = OutgoingEmail.Status
    waiting = Q(status__in=[status.PENDING, status.SENDING])
    counts = OutgoingEmail.objects.filter(invitation__wave=wave).aggregate(
        invitations_sent=Count("id", filter=Q(sequence=0, status=status.SENT)),
        invitations_waiting=Count("id", filter=Q(waiting, sequence=0)),
        reminders_sent=Count("id", filter=Q(status=status.SENT) & ~Q(sequence=0)),
        reminders_waiting=Count("id", filter=waiting & ~Q(sequence=0)),
        held=Count("id", filter=Q(status=status.FAILED) & ~Q(invitation__status__in=STOPPED)),
    )
    return LetterCounts(**counts)


def held_letter_get(user: User, wave: Wave, pk: int) -> OutgoingEmail:
    emails = OutgoingEmail.objects.select_related("invitation__respondent", "invitation__wave")
    email = in_programmes(emails, user, "invitation__wave__survey__programme").filter(pk=pk, invitation__wave=wave)
    found = email.first()
    if found is None:
        raise Http404("No such letter.")
    return found


# --------------------------------------------------------------------------- send jobs


def send_jobs_visible_to(user: User) -> QuerySet[InvitationSendJob]:
    jobs = InvitationSendJob.objects.select_related("wave")
    return in_programmes(jobs, user, "wave__survey__programme")


def send_job_get(user: User, pk: int) -> InvitationSendJob:
    job = send_jobs_visible_to(user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return job


def wave_last_send_job(wave: Wave) -> InvitationSendJob | None:
    return InvitationSendJob.objects.filter(wave=wave).order_by("-created_at", "-id").first()
