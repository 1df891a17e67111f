"""The rights of the people in the data: see and download everything held, withdraw consents,
and erasure that leaves nothing in any store but what a legal obligation keeps.

The world is made through the real services: a registry member with a profile, offers, consents,
a proposal with the institution's feedback and messages both ways; an address on a programme's
panel, invited to a wave and answered; a CSV export and an analysis frame of that wave; two
programme participations (one obligation over, one open) with a document; a failed and a good
sign-in, an API token and a live session. After erasure every store is searched for the person's
identifiers: every text and JSON column of every model, every file under MEDIA_ROOT (Parquet
frames by response id), the cache, and the matching index of this process.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Programme, Role
from diaspora.models import Consent, Match, Participation, Person
from diaspora.services import lifecycle
from diaspora.services.matching import _State, forget_expert_index, request_top
from diaspora.services.messages import message_reply, message_send
from diaspora.services.obligation_imports import participants_import
from diaspora.services.obligations import episode_record
from privacy.models import ErasureRecord
from privacy.services import ErasureRefused, erase, held_about
from surveys.models import ExportJob, Invitation, Panel, PanelMember, Respondent, Response, Wave
from surveys.services.exports import export_request
from surveys.services.invitations import wave_invite
from surveys.services.respondent import invitation_open
from surveys.services.responses import response_update
from surveys.tokens import invitation_token
from tests.analytics.waves import add_answers, computed
from tests.diaspora.people import expert, expertise_request, institution
from tests.diaspora.test_obligations import HEADER, rule
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]

EMAIL = "zx.erase.me@example.org"
MARKERS = {
    "username": "zx-erase-me",
    "display name": "Zx Erase Me",
    "email": EMAIL,
    "bio": "ZXBIOMARKER",
    "answer": "Zxcitymarker",
    "message": "ZXMESSAGEMARKER",
    "feedback": "ZXFEEDBACKMARKER",
    "panel name": "Zx Panel Name",
    "closed obligation": "ZX-CLOSED-1",
    "closed name": "Zx Closed Name",
    "employer": "Zx Employer Marker",
    "document": "ZXDOCUMENTMARKER",
}
# Kept on purpose (an open work obligation): the programme's own record, unlinked.
RETAINED = {"open obligation": "ZX-OPEN-1", "open name": "Zx Open Name"}
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def world(graduate_version, bolashak, designer, settings):
    settings.MATCHING_INDEX_BACKGROUND = False
    forget_expert_index()  # this process's index, from no earlier test
    cache.clear()  # nor earlier tests' entries (their waves are gone, their keys are not)
    serpin = Programme.objects.create(slug="serpin", name="Serpin-2050")
    rule(bolashak)
    rule(serpin)
    # The registry member, and a second one who must keep everything.
    person = expert(MARKERS["username"], bio=f"Hydrologist. {MARKERS['bio']}")
    person.user.email = EMAIL
    person.user.save(update_fields=["email"])
    person.programmes.add(bolashak, serpin)
    other = expert("zz-keeps-everything", bio="Hydrologist who stays.")
    inst, staff = institution()
    request = expertise_request(staff, inst)
    made = lifecycle.request_offer_person(request=request, person_id=person.pk, user=staff, note="Welcome")
    Match.objects.filter(pk=made.match.pk).update(institution_feedback=MARKERS["feedback"])
    first = message_send(sender=staff, person=person, subject="Hello", body="A question for you", match=made.match)
    message_reply(sender=person.user, original=first, body=MARKERS["message"])

    # The survey: the person's address on Bolashak's panel, invited, answered; others answer too.
    graduate_version.survey.programme = bolashak  # so that its administrator reads the summaries
    graduate_version.survey.save(update_fields=["programme"])
    panel = Panel.objects.create(slug="alumni", name="Bolashak alumni", programme=bolashak)
    respondent = Respondent.objects.create(email=EMAIL, user=person.user)
    PanelMember.objects.create(panel=panel, respondent=respondent, name=MARKERS["panel name"], language="en")
    wave = Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="w", name="Wave",
                               panel=panel, opens_at=timezone.now() - dt.timedelta(days=1), is_public=True)  # fmt: skip
    from analytics.models import WaveAnalysis

    WaveAnalysis.objects.create(wave=wave, margins=[], weight_bounds=[0.1, 10])
    others = add_answers(wave, 12, seed=3)
    wave_invite(wave=wave)
    invitation = Invitation.objects.get(respondent=respondent)
    handle = invitation_open(token=invitation_token(invitation.token_nonce))
    values = dict(others[0].answers, city_residence=MARKERS["answer"])
    mine, _changed = response_update(response=handle.response, status=Response.Status.COMPLETE, answers=values,
                                     language="en", invitation=handle.invitation)  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):
        export, _reused = export_request(wave=wave, format="csv", language="en", user=designer)
    assert ExportJob.objects.get(pk=export.pk).file, "the export was built"
    computed(wave)
    staff_pages = Client()
    staff_pages.force_login(designer)
    for status in ("complete", "all"):  # the kept tallies hold the latest text answers
        questions = staff_pages.get(f"/staff/waves/{wave.slug}/questions/?status={status}")
        assert MARKERS["answer"] in questions.content.decode(), (
            questions.status_code,
            questions.content.decode()[-3000:],
        )

    # Programme participation: one obligation over (anonymised), one open (kept, unlinked).
    body = f"{RETAINED['open obligation']},{RETAINED['open name']},{EMAIL},2016,2020-06-30,GBR,Leeds,053\n"
    participants_import(programme=bolashak, data=(HEADER + body).encode(), filename="b.csv", user=designer)
    body = f"{MARKERS['closed obligation']},{MARKERS['closed name']},{EMAIL},2012,2014-06-30,GBR,Leeds,053\n"
    participants_import(programme=serpin, data=(HEADER + body).encode(), filename="s.csv", user=designer)
    closed = Participation.objects.get(external_id=MARKERS["closed obligation"])
    opened = Participation.objects.get(external_id=RETAINED["open obligation"])
    assert closed.person_id == person.pk and opened.person_id == person.pk
    episode_record(closed, {"kind": "employment", "start": "2014-09-01", "country": "KAZ",
                            "employer": MARKERS["employer"]}, source="participant",
                   document=SimpleUploadedFile("proof.txt", MARKERS["document"].encode()))  # fmt: skip
    Participation.objects.filter(pk=closed.pk).update(status="fulfilled")
    Participation.objects.filter(pk=opened.pk).update(status="in_service")

    # Signing in: a wrong password, a session, a token; the matching index of this process.
    Client().post("/accounts/login/", {"username": MARKERS["username"], "password": "wrong"})
    browser = Client()
    assert browser.post("/accounts/login/", {"username": MARKERS["username"], "password": PASSWORD}).status_code == 302
    token = Token.objects.create(user=person.user)
    request_top(request=request)
    assert person.pk in _State.snapshot.index.person_ids
    return {"person": person, "other": other, "wave": wave, "mine": mine, "others": others, "browser": browser,
            "token": token.key, "request": request, "opened": opened, "closed": closed}  # fmt: skip


def test_the_data_page_and_its_download_show_everything_held(world):
    browser = world["browser"]
    page = browser.get("/account/data/")
    assert page.status_code == 200
    text = page.content.decode()
    download = browser.get("/account/data.json")
    assert download["Content-Disposition"].startswith("attachment;")
    held = json.loads(download.content)
    dumped = json.dumps(held, ensure_ascii=False)
    for what in ("username", "display name", "email", "bio", "answer", "message", "feedback", "panel name",
                 "closed obligation", "employer"):  # fmt: skip
        assert MARKERS[what] in dumped, what
        assert MARKERS[what] in text, what
    assert RETAINED["open obligation"] in dumped
    assert {c["purpose"] for c in held["registry_profile"]["consents"]} == set(Consent.Purpose.values)
    api = Client(HTTP_AUTHORIZATION=f"Token {world['token']}").get("/api/v1/me/data/")
    assert api.status_code == 200 and api.json()["account"]["username"] == MARKERS["username"]
    # No secret of a link or password is handed out, not even to the person.
    for secret in ("password", "token_hash", "token_nonce", "resume_token_hash"):
        assert f'"{secret}"' not in dumped
    # The person sees the other side's name as shown on the platform, never a login name.
    assert "pavlodar-staff" not in dumped


def test_someone_else_sees_only_their_own(world):
    other = Client()
    other.force_login(world["other"].user)
    held = json.loads(other.get("/account/data.json").content)
    dumped = json.dumps(held, ensure_ascii=False)
    assert not any(value in dumped for value in MARKERS.values())
    assert held["survey_responses"] == [] and held["programme_participation"] == []


def test_each_consent_is_withdrawn_from_the_data_page(world):
    browser = world["browser"]
    answer = browser.post("/registry/me/consents/matching/withdraw/", {"next": "/account/data/#consents"})
    assert answer.status_code == 302 and answer["Location"] == "/account/data/#consents"
    live = set(
        Consent.objects.filter(person=world["person"], withdrawn_at__isnull=True).values_list("purpose", flat=True)
    )
    assert live == {"registry", "messages"}
    # Elsewhere than this site: back to the profile, not away.
    answer = browser.post("/registry/me/consents/messages/withdraw/", {"next": "https://evil.example/"})
    assert answer["Location"] == "/registry/me/#consents"
    browser.post("/account/data/invitations/stop/")
    assert Respondent.objects.get(email=EMAIL).opted_out_at is not None


def test_a_wrong_password_or_confirmation_erases_nothing(world):
    browser = world["browser"]
    answer = browser.post("/account/data/erase/", {"password": "wrong", "confirm": "ERASE"})
    assert answer.status_code == 400 and "The password is not right." in answer.content.decode()
    answer = browser.post("/account/data/erase/", {"password": PASSWORD, "confirm": "yes"})
    assert answer.status_code == 400
    assert Person.objects.filter(pk=world["person"].pk).exists() and not ErasureRecord.objects.exists()


def test_staff_accounts_are_not_erased_this_way(designer):
    with pytest.raises(ErasureRefused):
        erase(user=designer, actor=None)
    staff = Client()
    staff.force_login(designer)
    page = staff.get("/account/data/")
    assert page.status_code == 200 and 'name="confirm"' not in page.content.decode()


def _hits_in_database(values: list[str]) -> list[tuple[str, str, int, str]]:
    hits = []
    for model in apps.get_models(include_auto_created=True):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        for field in fields:
            for value in values:
                for pk in model._default_manager.filter(**{f"{field.name}__icontains": value}).values_list(
                    "pk", flat=True
                ):
                    hits.append((model._meta.label, field.name, pk, value))
    return hits


def _hits_in_files(root: Path, values: list[str], response_ids: set[int]) -> list[tuple[str, str]]:
    hits = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            if "response_id" in table.column_names:
                ids = set(table.column("response_id").to_pylist())
                hits += [(str(path), f"response {i}") for i in ids & response_ids]
            text = table.to_pandas().astype(str).to_csv().lower()
            hits += [(str(path), value) for value in values if value.lower() in text]
            continue
        if path.name == "ids.npy":
            hits += [(str(path), f"response {i}") for i in set(np.load(path).tolist()) & response_ids]
            continue
        content = path.read_bytes().lower()
        hits += [(str(path), value) for value in values if value.lower().encode() in content]
    return hits


def _hits_in_cache(values: list[str]) -> list[str]:
    backend = cache._cache if hasattr(cache, "_cache") else None
    blobs: list[bytes] = []
    if isinstance(backend, dict):  # the local-memory cache: pickled values by key
        blobs = [str(key).encode() + b" " + bytes(value) for key, value in backend.items()]
    elif backend is not None and hasattr(backend, "get_client"):  # Redis
        client = backend.get_client(None)
        blobs = [key + b" " + (client.get(key) or b"") for key in client.scan_iter() if client.type(key) == b"string"]
    return [value for value in values if any(value.lower().encode() in blob.lower() for blob in blobs)]


def test_erasure_leaves_nothing_in_any_store_but_the_open_obligation(world, settings):
    person, browser = world["person"], world["browser"]
    user_id, response_id = person.user_id, world["mine"].pk
    page = browser.post("/account/data/erase/", {"password": PASSWORD, "confirm": "erase"})
    assert page.status_code == 200 and "was erased" in page.content.decode()
    record = ErasureRecord.objects.get()
    assert record.account_id == user_id and record.requested_by == "person"
    assert [r["kind"] for r in record.retained] == ["participation"]

    values = list(MARKERS.values())
    hits = _hits_in_database(values + list(RETAINED.values()))
    allowed = {("diaspora.Participation", f, world["opened"].pk) for f in ("external_id", "full_name", "email")}
    unexpected = [h for h in hits if h[:3] not in allowed and not (
        h[:2] == ("diaspora.ObligationImport", "report") and h[3] == RETAINED["open obligation"]
    )]  # fmt: skip
    assert unexpected == []
    opened = Participation.objects.get(pk=world["opened"].pk)
    assert opened.person_id is None and opened.respondent_id is None and opened.status == "in_service"
    closed = Participation.objects.get(pk=world["closed"].pk)
    assert closed.full_name == "" and closed.email == "" and closed.person_id is None
    assert not closed.episodes.exclude(document="").exists()

    files = _hits_in_files(Path(settings.MEDIA_ROOT), values, {response_id})
    assert files == []
    assert _hits_in_cache(values) == []
    # Everyone else's data is whole: the frame still holds the other answers, the other member is listed.
    frame_ids = set()
    for part in Path(settings.MEDIA_ROOT).rglob("part-*.parquet"):
        frame_ids |= set(pq.read_table(part, columns=["response_id"]).column(0).to_pylist())
    assert {r.pk for r in world["others"]} <= frame_ids
    assert Response.objects.filter(wave=world["wave"]).count() == len(world["others"])

    # Signed out everywhere; the token is gone; the matching index no longer holds the person.
    assert browser.get("/account/data/").status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Token {world['token']}").get("/api/v1/me/data/").status_code == 401
    top = request_top(request=world["request"])
    assert person.pk not in _State.snapshot.index.person_ids
    assert person.pk not in {c.person_id for c in top.candidates}
    assert world["other"].pk in _State.snapshot.index.person_ids


def test_an_administrator_erases_on_request_through_the_same_service(world, capsys):
    from django.core.management import call_command

    root = UserFactory(username="root", is_superuser=True, is_staff=True, role=Role.RESPONDENT)
    call_command("erase_person", MARKERS["username"], "--by", "root", "--reason", "letter of 2026-11-30")
    record = ErasureRecord.objects.get()
    assert record.requested_by == "administrator" and record.actor_id == root.pk
    assert "Erasure record #" in capsys.readouterr().out
    assert _hits_in_database([MARKERS["bio"], MARKERS["answer"], MARKERS["message"], EMAIL]) == [
        ("diaspora.Participation", "email", world["opened"].pk, EMAIL)
    ]
    assert not Person.objects.filter(pk=world["person"].pk).exists()
    held = held_about(world["other"].user)
    assert held["registry_profile"]["display_name"] == "Zz Keeps Everything"
