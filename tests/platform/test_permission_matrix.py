"""Who reaches which object: every route that takes an object id, slug or token, tried by every actor.

The matrix is checked against the URL configuration, the OpenAPI schema and the admin's
registry: a new route or admin model without an entry here fails
`test_every_object_route_has_an_entry`, so the matrix grows with the platform.

An actor "reaches" an object when the answer is anything but 401, 403, 404 or a redirect
to a login page (a 400 or a 409 means the object was found and acted on or refused for
its state). Every other actor must be turned away.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from tests.scoping_world import ACTORS, World, build_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]
slow = pytest.mark.slow

EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous"}
OWNER = frozenset({"admin_a"})
REQUEST_SIDE = frozenset({"admin_a", "staff_a"})
RESPONDENT = frozenset({"respondent"})
NOBODY: frozenset[str] = frozenset()
ANALYSTS = frozenset({"admin_a", "admin_b", "researcher"})
ANALYSTS_A = frozenset({"admin_a", "researcher"})
PLATFORM_DATA = frozenset({"admin_a", "admin_b"})
OWN_AND_ADMIN = frozenset({"admin_a", "respondent"})
RESEARCHER = frozenset({"researcher"})


@dataclass(frozen=True)
class Case:
    url: Callable[[World], str]
    allowed: frozenset[str]
    data: Callable[[World], dict] | None = None
    secret: Callable[[World], str] | None = None  # must appear in no answer to an actor not allowed to see it


def _a(w: World):
    return w.a


# (route pattern, method) -> case. Routes that close or withdraw come last (see ORDER_LAST).
MATRIX: dict[tuple[str, str], Case] = {
    # --- survey API
    ("api/v1/surveys/<slug:slug>/", "GET"): Case(lambda w: f"/api/v1/surveys/{w.a.draft_survey.slug}/", OWNER),
    ("api/v1/surveys/<slug:slug>/versions/", "GET"): Case(
        lambda w: f"/api/v1/surveys/{w.a.draft_survey.slug}/versions/", OWNER
    ),
    ("api/v1/surveys/<slug:slug>/versions/<int:number>/", "GET"): Case(
        lambda w: f"/api/v1/surveys/{w.a.survey.slug}/versions/2/", OWNER
    ),
    ("api/v1/surveys/<slug:slug>/versions/<int:number>/publish/", "POST"): Case(
        lambda w: f"/api/v1/surveys/{w.a.draft_survey.slug}/versions/1/publish/", OWNER
    ),
    # Anyone signed in may answer a published survey and list their own answers, nobody else's.
    ("api/v1/surveys/<slug:slug>/responses/", "GET"): Case(
        lambda w: f"/api/v1/surveys/{w.a.survey.slug}/responses/",
        SIGNED_IN,
        secret=lambda w: str(w.response.instance_id),
    ),
    ("api/v1/surveys/<slug:slug>/responses/", "POST"): Case(
        lambda w: f"/api/v1/surveys/{w.a.survey.slug}/responses/", SIGNED_IN, data=lambda w: {}
    ),
    ("api/v1/surveys/<slug:slug>/responses/<uuid:instance_id>/", "GET"): Case(
        lambda w: f"/api/v1/surveys/{w.a.survey.slug}/responses/{w.response.instance_id}/", RESPONDENT
    ),
    ("api/v1/surveys/<slug:slug>/responses/<uuid:instance_id>/", "PUT"): Case(
        lambda w: f"/api/v1/surveys/{w.a.survey.slug}/responses/{w.response.instance_id}/",
        RESPONDENT,
        data=lambda w: {},
    ),
    ("api/v1/panels/<slug:slug>/imports/", "POST"): Case(
        lambda w: f"/api/v1/panels/{w.a.panel.slug}/imports/", OWNER, data=lambda w: {}
    ),
    ("api/v1/waves/<slug:slug>/exports/", "POST"): Case(
        lambda w: f"/api/v1/waves/{w.a.wave.slug}/exports/", OWNER, data=lambda w: {"format": "csv"}
    ),
    ("api/v1/exports/<int:pk>/", "GET"): Case(lambda w: f"/api/v1/exports/{w.a.export.pk}/", OWNER),
    ("api/v1/exports/<int:pk>/download/", "GET"): Case(lambda w: f"/api/v1/exports/{w.a.export.pk}/download/", OWNER),
    # --- registry API
    ("api/v1/registry/people/<int:pk>/", "GET"): Case(
        lambda w: f"/api/v1/registry/people/{w.private_person.pk}/", OWNER
    ),
    ("api/v1/registry/people/<int:pk>/messages/", "POST"): Case(
        lambda w: f"/api/v1/registry/people/{w.private_person.pk}/messages/",
        OWNER,
        data=lambda w: {"subject": "A question", "body": "Could we talk about the programme?"},
    ),
    ("api/v1/registry/me/matches/<int:pk>/accept/", "POST"): Case(
        lambda w: f"/api/v1/registry/me/matches/{w.b.match.pk}/accept/", RESPONDENT
    ),
    ("api/v1/registry/me/matches/<int:pk>/decline/", "POST"): Case(
        lambda w: f"/api/v1/registry/me/matches/{w.b.match.pk}/decline/", RESPONDENT, data=lambda w: {}
    ),
    ("api/v1/registry/me/matches/<int:pk>/feedback/", "POST"): Case(
        lambda w: f"/api/v1/registry/me/matches/{w.b.match.pk}/feedback/", RESPONDENT, data=lambda w: {"rating": 5}
    ),
    ("api/v1/registry/me/messages/<int:pk>/read/", "POST"): Case(
        lambda w: f"/api/v1/registry/me/messages/{w.message.pk}/read/", RESPONDENT
    ),
    ("api/v1/registry/me/messages/<int:pk>/reply/", "POST"): Case(
        lambda w: f"/api/v1/registry/me/messages/{w.message.pk}/reply/", RESPONDENT, data=lambda w: {"body": "Yes"}
    ),
    ("api/v1/registry/requests/<int:pk>/", "GET"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/", REQUEST_SIDE
    ),
    ("api/v1/registry/requests/<int:pk>/", "PUT"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/", REQUEST_SIDE, data=lambda w: {}
    ),
    ("api/v1/registry/requests/<int:pk>/top/", "GET"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/top/", REQUEST_SIDE
    ),
    ("api/v1/registry/requests/<int:pk>/matches/", "GET"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/matches/", REQUEST_SIDE
    ),
    ("api/v1/registry/requests/<int:pk>/offer-proposals/", "POST"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/offer-proposals/", REQUEST_SIDE
    ),
    ("api/v1/registry/matches/<int:pk>/offer/", "POST"): Case(
        lambda w: f"/api/v1/registry/matches/{w.a.match.pk}/offer/", REQUEST_SIDE
    ),
    # Offering one expert of the top 20 (the respondent was offered A's request already: answered again, not sent).
    ("api/v1/registry/requests/<int:pk>/offers/", "POST"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/offers/",
        REQUEST_SIDE,
        data=lambda w: {"person": w.a.match.person_id},
    ),
    ("api/v1/registry/requests/<int:pk>/offers/preview/", "POST"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/offers/preview/",
        REQUEST_SIDE,
        data=lambda w: {"person": w.a.match.person_id, "note": "Hello"},
    ),
    ("api/v1/registry/matches/<int:pk>/activate/", "POST"): Case(
        lambda w: f"/api/v1/registry/matches/{w.a.match.pk}/activate/", REQUEST_SIDE
    ),
    ("api/v1/registry/matches/<int:pk>/complete/", "POST"): Case(
        lambda w: f"/api/v1/registry/matches/{w.a.match.pk}/complete/", REQUEST_SIDE, data=lambda w: {}
    ),
    ("api/v1/registry/runs/<int:pk>/", "GET"): Case(lambda w: f"/api/v1/registry/runs/{w.a.run.pk}/", OWNER),
    # --- registry pages
    # An offer is answered by its expert only: GET asks to confirm, POST answers.
    ("registry/me/offers/<int:match_id>/<str:action>/", "GET"): Case(
        lambda w: f"/registry/me/offers/{w.a.match.pk}/decline/", RESPONDENT
    ),
    ("registry/me/offers/<int:match_id>/<str:action>/", "POST"): Case(
        lambda w: f"/registry/me/offers/{w.a.match.pk}/decline/", RESPONDENT, data=lambda w: {}
    ),
    ("registry/me/engagements/<int:match_id>/<str:action>/", "POST"): Case(
        lambda w: f"/registry/me/engagements/{w.a.match.pk}/decline/", RESPONDENT, data=lambda w: {}
    ),
    # A relayed message is read by its recipient and its sender (staff of A wrote it).
    ("registry/messages/<int:message_id>/", "GET"): Case(
        lambda w: f"/registry/messages/{w.message.pk}/", frozenset({"respondent", "staff_a"})
    ),
    ("registry/people/<int:person_id>/", "GET"): Case(lambda w: f"/registry/people/{w.private_person.pk}/", OWNER),
    ("registry/requests/<int:request_id>/", "GET"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/", REQUEST_SIDE
    ),
    ("registry/requests/<int:request_id>/edit/", "GET"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/edit/", frozenset({"staff_a"})
    ),
    ("registry/requests/<int:request_id>/experts/", "GET"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/experts/", REQUEST_SIDE
    ),
    ("registry/requests/<int:request_id>/offer/", "POST"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/offer/", REQUEST_SIDE, data=lambda w: {}
    ),
    ("registry/requests/<int:request_id>/experts/<int:person_id>/offer/", "GET"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/experts/{w.a.match.person_id}/offer/", REQUEST_SIDE
    ),
    ("registry/requests/<int:request_id>/experts/<int:person_id>/offer/", "POST"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/experts/{w.a.match.person_id}/offer/",
        REQUEST_SIDE,
        data=lambda w: {"preview": "1"},
    ),
    ("registry/admin/runs/<int:run_id>/", "GET"): Case(lambda w: f"/registry/admin/runs/{w.a.run.pk}/", OWNER),
    # --- work obligations: the programme's administrators and the participant themselves
    ("registry/returns/participants/<int:participation_id>/", "GET"): Case(
        lambda w: f"/registry/returns/participants/{w.a.extra['participation'].pk}/", OWN_AND_ADMIN
    ),
    ("registry/returns/participants/<int:participation_id>/episodes/", "POST"): Case(
        lambda w: f"/registry/returns/participants/{w.a.extra['participation'].pk}/episodes/",
        OWN_AND_ADMIN,
        data=lambda w: {},
    ),
    ("registry/returns/participants/<int:participation_id>/pauses/", "POST"): Case(
        lambda w: f"/registry/returns/participants/{w.a.extra['participation'].pk}/pauses/", OWNER, data=lambda w: {}
    ),
    ("registry/returns/episodes/<int:episode_id>/document/", "GET"): Case(
        lambda w: f"/registry/returns/episodes/{w.a.extra['episode'].pk}/document/", OWN_AND_ADMIN
    ),
    ("registry/returns/participants/<int:participation_id>/link/", "POST"): Case(
        lambda w: f"/registry/returns/participants/{w.a.extra['participation'].pk}/link/", OWNER, data=lambda w: {}
    ),
    ("registry/returns/pauses/<int:pause_id>/evidence/", "GET"): Case(
        lambda w: f"/registry/returns/pauses/{w.a.extra['pause'].pk}/evidence/", OWNER
    ),
    ("registry/returns/episodes/<int:episode_id>/review/", "POST"): Case(
        lambda w: f"/registry/returns/episodes/{w.a.extra['episode'].pk}/review/", OWNER, data=lambda w: {}
    ),
    ("registry/returns/episodes/<int:episode_id>/employer/", "POST"): Case(
        lambda w: f"/registry/returns/episodes/{w.a.extra['episode'].pk}/employer/", OWN_AND_ADMIN, data=lambda w: {}
    ),
    # The employer's link is the credential: it opens its one episode for whoever holds it.
    ("registry/confirm/<str:token>/", "GET"): Case(
        lambda w: f"/registry/confirm/{w.a.extra['employer_token']}/", EVERYONE
    ),
    # --- staff pages
    ("staff/waves/<slug:slug>/", "GET"): Case(lambda w: f"/staff/waves/{w.a.wave.slug}/", OWNER),
    ("staff/waves/<slug:slug>/responses/", "GET"): Case(lambda w: f"/staff/waves/{w.a.wave.slug}/responses/", OWNER),
    ("staff/waves/<slug:slug>/questions/", "GET"): Case(lambda w: f"/staff/waves/{w.a.wave.slug}/questions/", OWNER),
    ("staff/waves/<slug:slug>/exports/", "POST"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/exports/", OWNER, data=lambda w: {"format": "csv", "language": "en"}
    ),
    ("staff/exports/<int:pk>/", "GET"): Case(lambda w: f"/staff/exports/{w.a.export.pk}/", OWNER),
    # --- fieldwork: wave settings and letters, invitations, sending, held letters, the wave API
    ("staff/waves/<slug:slug>/settings/", "GET"): Case(lambda w: f"/staff/waves/{w.a.wave.slug}/settings/", OWNER),
    ("staff/waves/<slug:slug>/settings/", "POST"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/settings/", OWNER, data=lambda w: {}
    ),
    ("staff/waves/<slug:slug>/invitations/", "GET"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/invitations/", OWNER
    ),
    ("staff/waves/<slug:slug>/invitations/send/", "POST"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/invitations/send/", OWNER, data=lambda w: {}
    ),
    ("staff/waves/<slug:slug>/letters/<int:pk>/resend/", "GET"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/letters/{w.a.extra['email'].pk}/resend/", OWNER
    ),
    ("staff/waves/<slug:slug>/letters/<int:pk>/resend/", "POST"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/letters/{w.a.extra['email'].pk}/resend/", OWNER, data=lambda w: {}
    ),
    ("api/v1/waves/<slug:slug>/", "GET"): Case(lambda w: f"/api/v1/waves/{w.a.wave.slug}/", OWNER),
    ("api/v1/waves/<slug:slug>/", "PATCH"): Case(
        lambda w: f"/api/v1/waves/{w.a.wave.slug}/", OWNER, data=lambda w: {"name": w.a.wave.name}
    ),
    ("api/v1/waves/<slug:slug>/invitations/send/", "POST"): Case(
        lambda w: f"/api/v1/waves/{w.a.wave.slug}/invitations/send/", OWNER
    ),
    ("api/v1/invitation-sends/<int:pk>/", "GET"): Case(lambda w: f"/api/v1/invitation-sends/{_send_job(w).pk}/", OWNER),
    ("staff/waves/<slug:slug>/responses/<int:pk>/", "GET"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/responses/{w.response.pk}/", OWNER
    ),
    ("staff/waves/<slug:slug>/questions/<str:name>/answers/", "GET"): Case(
        lambda w: f"/staff/waves/{w.a.wave.slug}/questions/city_residence/answers/", OWNER
    ),
    ("staff/surveys/<slug:slug>/", "GET"): Case(lambda w: f"/staff/surveys/{w.a.survey.slug}/", OWNER),
    # Version 2 of A's survey is a draft: previewed by A's administrators only.
    ("staff/surveys/<slug:slug>/versions/<int:number>/preview/", "GET"): Case(
        lambda w: f"/staff/surveys/{w.a.survey.slug}/versions/2/preview/", OWNER
    ),
    ("staff/surveys/<slug:slug>/versions/<int:number>/preview/", "POST"): Case(
        lambda w: f"/staff/surveys/{w.a.survey.slug}/versions/2/preview/", OWNER, data=lambda w: {"page": "0"}
    ),
    ("staff/surveys/<slug:slug>/versions/<int:number>/preview/check/", "POST"): Case(
        lambda w: f"/staff/surveys/{w.a.survey.slug}/versions/2/preview/check/", OWNER, data=lambda w: {"page": "0"}
    ),
    # --- analytics: administrators their programmes' waves, researchers every wave's published figures
    ("analytics/waves/<slug:slug>/", "GET"): Case(lambda w: f"/analytics/waves/{w.a.wave.slug}/", ANALYSTS_A),
    ("analytics/waves/<slug:slug>/recompute/", "POST"): Case(
        lambda w: f"/analytics/waves/{w.a.wave.slug}/recompute/", OWNER, data=lambda w: {}
    ),
    ("analytics/monitoring/<slug:pillar>/", "GET"): Case(lambda w: "/analytics/monitoring/gain/", ANALYSTS),
    ("api/v1/analytics/waves/<slug:slug>/tables/", "GET"): Case(
        lambda w: f"/api/v1/analytics/waves/{w.a.wave.slug}/tables/", ANALYSTS_A
    ),
    ("api/v1/analytics/waves/<slug:slug>/jobs/", "POST"): Case(
        lambda w: f"/api/v1/analytics/waves/{w.a.wave.slug}/jobs/", OWNER
    ),
    ("api/v1/analytics/jobs/<int:pk>/", "GET"): Case(
        lambda w: f"/api/v1/analytics/jobs/{w.a.extra['aggregation_job'].pk}/", ANALYSTS_A
    ),
    ("api/v1/analytics/monitoring/<slug:pillar>/", "GET"): Case(
        lambda w: "/api/v1/analytics/monitoring/gain/", ANALYSTS
    ),
    ("api/v1/analytics/official/groups/<slug:slug>/", "GET"): Case(
        lambda w: f"/api/v1/analytics/official/groups/{w.a.extra['scheme'].slug}/?programme={w.a.programme.slug}", OWNER
    ),
    # --- research data: the researcher their own requests and files, the programme's administrators theirs
    ("analytics/research/requests/<int:pk>/", "GET"): Case(
        lambda w: f"/analytics/research/requests/{w.a.extra['research_request'].pk}/", ANALYSTS_A
    ),
    ("analytics/research/requests/<int:pk>/review/", "POST"): Case(
        lambda w: f"/analytics/research/requests/{w.a.extra['research_request'].pk}/review/",
        OWNER,
        data=lambda w: {"decision": "refuse"},
    ),
    ("analytics/research/requests/<int:pk>/renew/", "POST"): Case(
        lambda w: f"/analytics/research/requests/{w.a.extra['research_request'].pk}/renew/",
        RESEARCHER,
        data=lambda w: {},
    ),
    ("analytics/research/exports/<int:pk>/download/", "GET"): Case(
        lambda w: f"/analytics/research/exports/{w.a.extra['research_export'].pk}/download/", RESEARCHER
    ),
    ("analytics/research/surveys/<slug:slug>/variables/", "GET"): Case(
        lambda w: f"/analytics/research/surveys/{w.a.survey.slug}/variables/", OWNER
    ),
    ("api/v1/analytics/research/requests/<int:pk>/", "GET"): Case(
        lambda w: f"/api/v1/analytics/research/requests/{w.a.extra['research_request'].pk}/", ANALYSTS_A
    ),
    ("api/v1/analytics/research/requests/<int:pk>/review/", "POST"): Case(
        lambda w: f"/api/v1/analytics/research/requests/{w.a.extra['research_request'].pk}/review/",
        OWNER,
        data=lambda w: {"decision": "refuse"},
    ),
    ("api/v1/analytics/research/exports/<int:pk>/download/", "GET"): Case(
        lambda w: f"/api/v1/analytics/research/exports/{w.a.extra['research_export'].pk}/download/", RESEARCHER
    ),
    ("api/v1/analytics/research/surveys/<slug:slug>/variables/", "GET"): Case(
        lambda w: f"/api/v1/analytics/research/surveys/{w.a.survey.slug}/variables/", ANALYSTS_A
    ),
    # --- respondent links: the secret in the link is the credential, whoever holds it
    ("s/<slug:slug>/", "GET"): Case(lambda w: f"/s/{w.a.wave.slug}/", NOBODY),  # invitation only: no public link
    ("i/<str:token>/", "GET"): Case(lambda w: f"/i/{w.invitation_token}/", EVERYONE),
    ("i/<str:token>/save/", "POST"): Case(lambda w: f"/i/{w.invitation_token}/save/", EVERYONE, data=lambda w: {}),
    ("i/<str:token>/done/", "GET"): Case(lambda w: f"/i/{w.invitation_token}/done/", EVERYONE),
    ("r/<str:token>/", "GET"): Case(lambda w: f"/r/{w.a.extra['resume_token']}/", EVERYONE),
    ("r/<str:token>/save/", "POST"): Case(
        lambda w: f"/r/{w.a.extra['resume_token']}/save/", EVERYONE, data=lambda w: {"page": "0"}
    ),
    ("r/<str:token>/done/", "GET"): Case(lambda w: f"/r/{w.a.extra['resume_token']}/done/", EVERYONE),
    ("o/<str:token>/", "GET"): Case(lambda w: f"/o/{w.invitation_token}/", EVERYONE),
    # --- last: these change the state the others are tried in
    ("api/v1/registry/matches/<int:pk>/withdraw/", "POST"): Case(
        lambda w: f"/api/v1/registry/matches/{w.a.match.pk}/withdraw/", REQUEST_SIDE
    ),
    ("registry/requests/<int:request_id>/matches/<int:match_id>/<str:action>/", "POST"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/matches/{w.a.match.pk}/withdraw/",
        REQUEST_SIDE,
        data=lambda w: {},
    ),
    ("api/v1/registry/requests/<int:pk>/close/", "POST"): Case(
        lambda w: f"/api/v1/registry/requests/{w.a.request.pk}/close/", REQUEST_SIDE
    ),
    ("registry/requests/<int:request_id>/close/", "POST"): Case(
        lambda w: f"/registry/requests/{w.a.request.pk}/close/", REQUEST_SIDE, data=lambda w: {}
    ),
    ("analytics/research/requests/<int:pk>/withdraw/", "POST"): Case(
        lambda w: f"/analytics/research/requests/{w.a.extra['research_request'].pk}/withdraw/",
        RESEARCHER,
        data=lambda w: {},
    ),
}

# Routes with a parameter that names no object of anyone else's: the signed-in person's own records.
OWN_RECORDS = {
    "api/v1/registry/me/consents/<str:purpose>/": "a consent purpose of the signed-in member's own profile",
    "registry/me/consents/<str:purpose>/<str:action>/": "a consent purpose of the signed-in member's own profile",
}

# Admin change pages: model -> (the object of programme A, who may open it). Programme
# administrators open what their group's permissions allow, scoped to their programmes.
ADMIN_OBJECTS: dict[str, tuple[Callable[[World], object], frozenset[str]]] = {
    "accounts.user": (lambda w: w.users["respondent"], NOBODY),
    "accounts.programme": (lambda w: w.a.programme, OWNER),
    "auth.group": (lambda w: w.users["admin_a"].groups.first(), NOBODY),
    "authtoken.tokenproxy": (lambda w: _token(w), NOBODY),
    # sign-in lockout records (django-axes): addresses and usernames, for superusers only
    "axes.accessattempt": (lambda w: _sign_in_record(w, "AccessAttempt"), NOBODY),
    "axes.accesslog": (lambda w: _sign_in_record(w, "AccessLog"), NOBODY),
    "axes.accessfailurelog": (lambda w: _sign_in_record(w, "AccessFailureLog"), NOBODY),
    "surveys.survey": (lambda w: w.a.survey, OWNER),
    "surveys.surveyversion": (lambda w: w.a.survey.versions.first(), OWNER),
    "surveys.wave": (lambda w: w.a.wave, OWNER),
    "surveys.response": (lambda w: w.response, OWNER),
    "surveys.respondent": (lambda w: w.a.extra["respondent"], OWNER),
    "surveys.panel": (lambda w: w.a.panel, OWNER),
    "surveys.panelimport": (lambda w: w.a.extra["panel_import"], OWNER),
    "surveys.invitation": (lambda w: w.a.extra["invitation"], OWNER),
    "surveys.outgoingemail": (lambda w: w.a.extra["email"], NOBODY),
    "surveys.quota": (lambda w: w.a.quota, OWNER),
    "surveys.exportjob": (lambda w: w.a.export, OWNER),
    "surveys.webhookendpoint": (lambda w: w.a.extra["endpoint"], NOBODY),
    "surveys.webhookdelivery": (lambda w: w.a.extra["delivery"], NOBODY),
    "diaspora.institution": (lambda w: w.a.institution, OWNER),
    "diaspora.expertiserequest": (lambda w: w.a.request, OWNER),
    "diaspora.matchingsettings": (lambda w: w.a.extra["settings"], OWNER),
    "diaspora.matchrun": (lambda w: w.a.run, OWNER),
    "diaspora.person": (lambda w: w.private_person, NOBODY),
    "diaspora.match": (lambda w: w.a.match, NOBODY),
    "diaspora.obligationrule": (lambda w: w.a.extra["rule"], OWNER),
    "diaspora.participation": (lambda w: w.a.extra["participation"], OWNER),
    "diaspora.episode": (lambda w: w.a.extra["episode"], OWNER),
    "diaspora.obligationimport": (lambda w: w.a.extra["obligation_import"], OWNER),
    "analytics.waveanalysis": (lambda w: w.a.extra["analysis"], OWNER),
    "analytics.researchrequest": (lambda w: w.a.extra["research_request"], OWNER),
    "analytics.researchexport": (lambda w: w.a.extra["research_export"], OWNER),
    "analytics.variablerole": (lambda w: w.a.extra["variable_role"], OWNER),
    "accounts.auditevent": (lambda w: w.a.extra["audit_event"], OWNER),
    # the proof of erasures: former account numbers and counts, superusers only
    "privacy.erasurerecord": (lambda w: _erasure_record(), NOBODY),
    "analytics.aggregationjob": (lambda w: w.a.extra["aggregation_job"], OWNER),
    "analytics.indicatortable": (lambda w: w.a.extra["indicator_table"], OWNER),
    "analytics.countrygroupscheme": (lambda w: w.a.extra["scheme"], OWNER),
    "analytics.dataset": (lambda w: _official("dataset"), PLATFORM_DATA),
    "analytics.officialimport": (lambda w: _official("import"), PLATFORM_DATA),
    "analytics.observation": (lambda w: _official("observation"), PLATFORM_DATA),
}


def _official(kind: str):
    from analytics.models import Dataset, Observation, OfficialImport
    from analytics.official.services import official_seed_load

    if not Observation.objects.exists():
        official_seed_load()
    return {"dataset": Dataset, "import": OfficialImport, "observation": Observation}[kind].objects.first()


def _send_job(w: World):
    from surveys.models import InvitationSendJob

    return InvitationSendJob.objects.get_or_create(wave=w.a.wave, defaults={"status": "complete"})[0]


def _sign_in_record(w: World, model: str):
    from axes import models

    fields = {"username": w.users["admin_a"].username, "ip_address": "203.0.113.9", "user_agent": "test"}
    if model == "AccessAttempt":
        fields |= {"failures_since_start": 1, "get_data": "", "post_data": ""}
    return getattr(models, model).objects.create(**fields)


def _token(w: World):
    from rest_framework.authtoken.models import TokenProxy

    TokenProxy.objects.get_or_create(user=w.users["respondent"])
    return TokenProxy.objects.get(user=w.users["respondent"])


# --------------------------------------------------------------------------- the routes themselves


def _patterns(patterns, prefix="") -> list[str]:
    found = []
    for p in patterns:
        if isinstance(p, URLResolver):
            found += _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            found.append(prefix + str(p.pattern))
    return found


def object_routes() -> set[str]:
    """Every non-admin route that takes a parameter (an id, a slug, a token, a purpose)."""
    return {r for r in _patterns(get_resolver().url_patterns) if "<" in r and not r.startswith("admin/")}


def schema_operations() -> set[tuple[str, str]]:
    """(route pattern, method) of every API operation with a path parameter, from the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    samples = {"slug": "x", "purpose": "x", "instance_id": "00000000-0000-0000-0000-000000000000"}
    operations = set()
    for path, methods in schema["paths"].items():
        if "{" not in path:
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "1"), path)
        route = resolve(concrete).route
        for method in methods:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                operations.add((route, method.upper()))
    return operations


def test_every_object_route_has_an_entry():
    covered = {route for route, _ in MATRIX} | set(OWN_RECORDS)
    assert object_routes() - covered == set(), "add these routes to MATRIX"
    own = {(route, m) for route, m in schema_operations() if route in OWN_RECORDS}
    assert schema_operations() - set(MATRIX) - own == set(), "add these API operations to MATRIX"
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered - set(ADMIN_OBJECTS) == set(), "add these admin models to ADMIN_OBJECTS"


def _erasure_record():
    from privacy.models import ErasureRecord

    return ErasureRecord.objects.create(account_id=999_999, requested_by=ErasureRecord.Requester.PERSON)


# --------------------------------------------------------------------------- trying them


def _client(world: World, actor: str, api: bool):
    client = APIClient() if api else Client()
    user = world.users[actor]
    if user is not None:
        client.force_login(user)
    return client


def turned_away(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "login" in response.get("Location", "")


def _try(world: World, actor: str, route: str, method: str, case: Case):
    api = route.startswith("api/")
    client = _client(world, actor, api)
    url = case.url(world)
    data = case.data(world) if case.data else {}
    if method == "GET":
        return client.get(url)
    if api:
        return getattr(client, method.lower())(url, data, format="json")
    return getattr(client, method.lower())(url, data)


@slow
def test_each_actor_reaches_exactly_the_objects_it_may(tasks_in_process):
    world = build_world()
    problems = []
    for (route, method), case in MATRIX.items():
        # Those who may not come first: an object they wrongly changed would show as a failure anyway.
        for actor in sorted(ACTORS, key=lambda a: a in case.allowed):
            response = _try(world, actor, route, method, case)
            if response.status_code == 405 or response.status_code >= 500:
                problems.append(f"{method} {route} as {actor}: {response.status_code}")
            elif turned_away(response) == (actor in case.allowed):
                problems.append(
                    f"{method} {route} as {actor}: {response.status_code} "
                    + ("(turned away, may reach it)" if actor in case.allowed else "(reached it, may not)")
                )
            elif case.secret and actor not in RESPONDENT and case.secret(world) in response.content.decode():
                problems.append(f"{method} {route} as {actor}: shows another person's {case.secret(world)}")
    assert problems == []


@slow
def test_each_actor_opens_exactly_the_admin_pages_it_may(tasks_in_process):
    world = build_world()
    problems = []
    for model in admin.site._registry:
        key = f"{model._meta.app_label}.{model._meta.model_name}"
        get_object, allowed = ADMIN_OBJECTS[key]
        obj = get_object(world)
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}/change/"
        for actor in ACTORS:
            response = _client(world, actor, api=False).get(url)
            # The admin answers an object outside the user's scope with a redirect to its index.
            away = turned_away(response) or response.status_code == 302
            if response.status_code >= 500 or away == (actor in allowed):
                problems.append(f"{url} as {actor}: {response.status_code}")
    assert problems == []
