"""Two programmes side by side, made through the real services: the cast of the scoping tests.

Programme A (Bolashak) owns a published survey with a draft, a draft-only survey, a panel,
an invitation-only wave with a response, an export, an institution's request with a match
and a matching run. Programme B (Serpin-2050) owns the same kinds of objects, so every
choice list has something to hide. The actors are the administrators of A and B, the
staff of an institution of A and of one of B, a respondent (a registry member of A with an
invitation to A's wave), a researcher and an anonymous visitor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from accounts.demo import programme_admin_group
from accounts.models import AuditEvent, Programme, Role, User
from analytics.models import AggregationJob, IndicatorTable, WaveAnalysis
from analytics.official.groups import scheme_save
from analytics.services.aggregation import aggregation_run
from diaspora.models import Match, MatchingSettings, MatchRun, Person
from diaspora.services import lifecycle, matching
from diaspora.services.messages import message_send
from diaspora.services.requests import institution_create
from surveys.demo import instruments_load
from surveys.models import (
    ExportJob,
    Invitation,
    OutgoingEmail,
    Panel,
    PanelMember,
    Quota,
    Respondent,
    Wave,
    WebhookDelivery,
    WebhookEndpoint,
)
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.services import respondent as respondent_flow
from surveys.services import response_submit, survey_import_xlsform
from surveys.services.exports import export_request, export_run
from surveys.services.invitations import wave_invite
from surveys.services.panels import panel_import
from surveys.tokens import invitation_token
from tests.diaspora.people import expert, expertise_request
from tests.factories import UserFactory, simple_form_rows, xlsform

ACTORS = ("admin_a", "admin_b", "staff_a", "staff_b", "respondent", "researcher", "anonymous")


@dataclass
class Side:
    """What one programme owns."""

    programme: Programme
    survey: Any = None
    draft_survey: Any = None
    panel: Any = None
    wave: Any = None
    export: Any = None
    institution: Any = None
    request: Any = None
    run: Any = None
    match: Any = None
    quota: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    a: Side
    b: Side
    users: dict[str, User | None]
    invitation_token: str = ""
    response: Any = None
    message: Any = None
    private_person: Any = None


def programme_admin(username: str, programme: Programme) -> User:
    user = UserFactory(username=username, role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.groups.add(programme_admin_group())
    user.programmes.add(programme)
    return user


def _side(programme: Programme, *, prefix: str, admin: User, staff: User, region: str) -> Side:
    side = Side(programme)
    side.survey = instruments_load(programme, prefix=prefix)[0].survey
    survey_rows, choices = simple_form_rows()
    survey_import_xlsform(
        data=xlsform(survey_rows, choices, {"form_id": f"{prefix}draft"}), filename="draft.xlsx", user=admin
    )
    side.draft_survey = programme.surveys.get(slug=f"{prefix}draft")
    # A draft second version of the published survey (drafts are the administrators' only).
    survey_import_xlsform(
        data=xlsform(survey_rows, choices, {"form_id": "x"}), filename="v2.xlsx", survey_slug=side.survey.slug,
        user=admin,
    )  # fmt: skip
    side.panel = Panel.objects.create(slug=f"{prefix}panel", name=f"{programme.name} alumni", programme=programme)
    version = side.survey.current_version()
    side.wave = Wave.objects.create(
        survey=side.survey, version=version, slug=f"{prefix}wave", name=f"{programme.name} wave", panel=side.panel,
        opens_at=timezone.now() - timezone.timedelta(days=1),
    )  # fmt: skip
    side.quota = Quota.objects.create(wave=side.wave, name=f"{prefix}quota", conditions={"country_residence": "FRA"},
                                      cap=100)  # fmt: skip
    side.institution = institution_create(
        name=f"{programme.name} University", kind="university", region=region, staff=[staff], programmes=[programme]
    )
    return side


def build_world() -> World:
    a_programme = Programme.objects.create(slug="bolashak", name="Bolashak")
    b_programme = Programme.objects.create(slug="serpin", name="Serpin-2050")
    users: dict[str, User | None] = {
        "admin_a": programme_admin("admin-a", a_programme),
        "admin_b": programme_admin("admin-b", b_programme),
        "staff_a": UserFactory(username="staff-a", role=Role.INSTITUTION_STAFF),
        "staff_b": UserFactory(username="staff-b", role=Role.INSTITUTION_STAFF),
        "researcher": UserFactory(username="researcher", role=Role.RESEARCHER),
        "anonymous": None,
    }
    a = _side(a_programme, prefix="a-", admin=users["admin_a"], staff=users["staff_a"], region="KZ-55")
    b = _side(b_programme, prefix="b-", admin=users["admin_b"], staff=users["staff_b"], region="KZ-75")
    # The respondent: a registry member open to institutions, invited to A's wave.
    person = expert("respondent", programmes=["bolashak"], visibility={"profile": "institutions",
                    "expertise": "institutions", "location": "institutions", "contact": "institutions"})  # fmt: skip
    users["respondent"] = person.user
    respondent = Respondent.objects.create(email="respondent@example.org", user=person.user)
    PanelMember.objects.create(panel=a.panel, respondent=respondent, name="Aigerim", language="en")
    PanelMember.objects.create(panel=b.panel, respondent=respondent, name="Aigerim B.", language="ru")
    wave_invite(wave=a.wave)
    invitation = Invitation.objects.get(wave=a.wave, respondent=respondent)
    world = World(a, b, users, invitation_token=invitation_token(invitation.token_nonce))
    world.response, _ = response_submit(
        version=a.wave.version, respondent=person.user, instance_id=uuid.uuid4(), status="complete",
        answers=SAMPLE_GRADUATE_ANSWERS, language="en", wave=a.wave,
    )  # fmt: skip
    # Someone only the administrators of A may see.
    world.private_person = expert("private", programmes=["bolashak"], visibility={"profile": "administrators"})
    for side, staff in ((a, users["staff_a"]), (b, users["staff_b"])):
        side.export = _export(side.wave)
        side.request = expertise_request(staff, side.institution, programme=side.programme.slug)
        run, _ = matching.matching_run_start(kind=MatchRun.Kind.MANUAL, key=f"run-{side.programme.slug}",
                                             programme=side.programme)  # fmt: skip
        side.run = matching.matching_run(run=run)
        lifecycle.request_offer_proposals(request=side.request)
        side.match = Match.objects.filter(request=side.request, person=person).first()
    world.message = message_send(
        sender=users["staff_a"], person=person, subject="A question", body="Could you advise our students?"
    )
    for side in (a, b):
        _extras(side)
        _research(side, users["researcher"], users["admin_a"] if side is a else users["admin_b"])
    return world


def _research(side: Side, researcher: User, admin: User) -> None:
    """The researcher's two requests for this side's survey: one awaiting review, one approved with its file."""
    from django.test import TestCase

    from analytics.models import VariableRole
    from analytics.services import research

    def ask():
        return research.research_request_submit(
            user=researcher, survey=side.survey, waves=[side.wave], variables=["country_residence", "return_intention"],
            formats=["csv"], language="en", purpose="Return intentions", institution="KIMEP", licence="licensed",
            terms_accepted=True,
        )  # fmt: skip

    with TestCase.captureOnCommitCallbacks(execute=True):
        side.extra["research_request"] = ask()
        approved = ask()
        research.research_request_review(request=approved, user=admin, decision="approve")
    side.extra["research_export"] = approved.exports.filter(kind="export").first()
    side.extra["research_dry_run"] = approved.exports.filter(kind="dry_run").first()
    side.extra["variable_role"] = VariableRole.objects.create(survey=side.survey, name="city_residence", role="direct")
    side.extra["audit_event"] = AuditEvent.objects.filter(programme=side.programme).first()


def _extras(side: Side) -> None:
    """One object of every other kind the admin lists, for this side's programme."""
    slug = side.programme.slug
    job = AggregationJob.objects.create(wave=side.wave)
    aggregation_run(job.pk)
    side.extra["aggregation_job"] = job
    side.extra["analysis"] = WaveAnalysis.objects.get(wave=side.wave)
    side.extra["indicator_table"] = IndicatorTable.objects.filter(wave=side.wave).first()
    scheme_save(slug=f"{slug}-regions", name=f"{slug} regions", source="test", programme=side.programme,
                members=[("DEU", "EU", "Europe"), ("RUS", "CIS", "CIS")])  # fmt: skip
    side.extra["scheme"] = side.programme.country_group_schemes.get(slug=f"{slug}-regions")
    side.extra["public_wave"] = Wave.objects.create(
        survey=side.survey, version=side.wave.version, slug=f"{slug}-public", name=f"{slug} public", is_public=True,
        opens_at=timezone.now() - timezone.timedelta(days=1),
    )  # fmt: skip
    side.extra["resume_token"] = respondent_flow.public_start(wave=side.extra["public_wave"], language="en").token
    side.extra["panel_import"] = panel_import(
        panel=side.panel, data=f"email,name\nonly-{slug}@example.org,Only {slug}\n".encode(), filename="a.csv",
        user=None,
    )  # fmt: skip
    side.extra["respondent"] = Respondent.objects.get(email=f"only-{slug}@example.org")
    side.extra["invitation"] = Invitation.objects.filter(wave=side.wave).first()
    side.extra["email"] = OutgoingEmail.objects.filter(invitation__wave=side.wave).first()
    side.extra["endpoint"] = WebhookEndpoint.objects.create(
        survey=side.survey, url="https://example.org/hook", secret="s" * 32, events=["response.created"]
    )
    side.extra["delivery"] = WebhookDelivery.objects.create(
        endpoint=side.extra["endpoint"], event="response.created", event_id=f"{slug}-1", payload={},
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    side.extra["settings"] = MatchingSettings.objects.create(programme=side.programme, weights={})
    _obligations(side)


def _obligations(side: Side) -> None:
    """A rule, a participation (programme A's is the respondent's own), an episode with a document
    waiting for review, an import and an employer's link."""
    import datetime as dt

    from django.core.files.base import ContentFile

    from diaspora.models import Episode, ObligationRule, Participation
    from diaspora.services.obligation_imports import participants_import
    from diaspora.services.obligations import employer_link_request, episode_record, pause_record

    slug = side.programme.slug
    side.extra["rule"] = ObligationRule.objects.create(
        programme=side.programme, version=1, name=f"{slug} rule", adopted_on=dt.date(2015, 1, 1), cohorts_from=2010,
        months_required=24, window_months=48, countries=["KAZ"],
    )  # fmt: skip
    side.extra["obligation_import"] = participants_import(
        programme=side.programme, user=None, filename="participants.csv",
        data=f"external_id,full_name,email,cohort,graduation_date\n{slug}-1,Participant {slug},,2020,2024-06-30\n".encode(),
    )  # fmt: skip
    participation = Participation.objects.get(programme=side.programme)
    if slug == "bolashak":
        participation.person = Person.objects.get(user__username="respondent")
        participation.save()
    side.extra["participation"] = participation
    episode = episode_record(
        participation, {"kind": "employment", "start": dt.date(2024, 9, 1), "country": "KAZ", "employer": "Kaspi"},
        source=Episode.Source.PARTICIPANT, document=ContentFile(b"%PDF-1.4 contract", name=f"{slug}-contract.pdf"),
    )  # fmt: skip
    side.extra["episode"] = episode
    side.extra["pause"] = pause_record(
        participation, {"kind": "deferral", "start": dt.date(2030, 1, 1), "end": dt.date(2030, 6, 30), "reason": "PhD"},
        user=None, evidence=ContentFile(b"%PDF-1.4 letter", name=f"{slug}-letter.pdf"),
    )  # fmt: skip
    link = employer_link_request(episode, email=f"hr@{slug}.example", user=None, base_url="http://testserver")
    side.extra["employer_token"] = link.rstrip("/").rsplit("/", 1)[-1]


def _export(wave: Wave) -> ExportJob:
    job, _ = export_request(wave=wave, format="csv", language="en", user=None)
    return export_run(job_id=job.pk) or ExportJob.objects.get(pk=job.pk)


def person_of(world: World) -> Person:
    return Person.objects.get(user=world.users["respondent"])
