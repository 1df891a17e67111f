"""The returns pages as each user sees them: administrators, a participant, an employer with a link."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Programme, Role
from diaspora.models import Episode, ObligationRule, Participation, Person
from diaspora.services.obligation_imports import episodes_import, participants_import
from diaspora.services.obligations import employer_link_request, episode_record
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]
D = dt.date


@pytest.fixture
def world(bolashak, designer):
    serpin = Programme.objects.create(slug="serpin", name="Serpin-2050")
    other_admin = UserFactory(username="serpin-admin", role=Role.PROGRAMME_ADMIN, is_staff=True)
    other_admin.programmes.add(serpin)
    for programme in (bolashak, serpin):
        ObligationRule.objects.create(programme=programme, version=1, name="rule", adopted_on=D(2015, 1, 1),
                                      cohorts_from=2010, months_required=60, window_months=96, countries=["KAZ"])  # fmt: skip
    rows = "".join(f"B-{i},Scholar {i},,{2016 + i % 3},{2020 + i % 3}-06-30\n" for i in range(40))
    participants_import(programme=bolashak, user=designer, filename="b.csv",
                        data=("external_id,full_name,email,cohort,graduation_date\n" + rows).encode())  # fmt: skip
    participants_import(programme=serpin, user=other_admin, filename="s.csv",
                        data=b"external_id,full_name,email,cohort,graduation_date\nS-1,Serpin Scholar,,2019,2023-06-30\n")  # fmt: skip
    records = "".join(
        f"B-{i},employment,{2020 + i % 3}-09-01,,KAZ,KZ-71,Employer {i},yes,administrative\n" for i in range(0, 40, 2)
    )
    episodes_import(programme=bolashak, user=designer, filename="e.csv",
                    data=("external_id,kind,start,end,country,region,employer,specialty_related,source\n" + records).encode())  # fmt: skip
    member = UserFactory(username="scholar-1", role=Role.RESPONDENT)
    person = Person.objects.create(user=member, display_name="Scholar 1", last_confirmed_at="2026-01-01T00:00:00Z")
    mine = Participation.objects.get(external_id="B-1")
    mine.person = person
    mine.save()
    return {"admin": designer, "other_admin": other_admin, "member": member, "mine": mine,
            "serpin": Participation.objects.get(external_id="S-1")}  # fmt: skip


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_administrator_lands_on_the_returns_page_with_figures_and_denominators(world):
    client = signed_in(world["admin"])
    home = client.get("/registry/", follow=True).content.decode()  # their waves, requests and returns
    assert 'id="returns-bolashak"' in home and 'data-figure="return_12m"' in home and 'id="returns-serpin"' not in home
    assert "who graduated at least 12 months ago" in home
    page = client.get("/registry/returns/").content.decode()
    assert 'id="cohorts"' in page and 'data-indicator="return_12m"' in page and 'data-indicator="knowledge"' in page
    assert "Denominator" in page and "Numerator" in page
    assert "Serpin Scholar" not in page


def test_the_participant_list_filters_and_is_scoped(world):
    client = signed_in(world["admin"])
    everyone = client.get("/registry/returns/participants/").content.decode()
    assert "Scholar 1" in everyone and "Serpin Scholar" not in everyone
    working = client.get("/registry/returns/participants/?region=KZ-71").content.decode()
    assert "Scholar 2<" in working and "Scholar 1<" not in working  # even rows work in Astana
    assert client.get("/registry/returns/participants/?cohort=nonsense&tier=x").status_code == 200
    other = signed_in(world["other_admin"])
    assert other.get(f"/registry/returns/participants/{world['mine'].pk}/").status_code == 404
    assert "Scholar" not in other.get("/registry/returns/participants/").content.decode().replace("Serpin Scholar", "")


def test_the_participant_page_shows_months_served_and_the_evidence(world):
    worker = Participation.objects.get(external_id="B-2")
    page = signed_in(world["admin"]).get(f"/registry/returns/participants/{worker.pk}/").content.decode()
    assert 'id="timeline"' in page and "Administrative record" in page and "Employer 2" in page
    assert str(worker.months_served) in page


def test_a_participant_sees_and_improves_only_their_own_record(world):
    client = signed_in(world["member"])
    assert client.get("/registry/me/obligations/").status_code == 200
    assert client.get(f"/registry/returns/participants/{world['serpin'].pk}/").status_code == 404
    assert client.get("/registry/returns/").status_code == 403
    document = SimpleUploadedFile("contract.pdf", b"%PDF-1.4 contract", content_type="application/pdf")
    answer = client.post(
        f"/registry/returns/participants/{world['mine'].pk}/episodes/",
        {"kind": "employment", "start": "2024-01-01", "country": "KAZ", "region": "KZ-75", "employer": "Kaspi",
         "specialty_related": "true", "document": document},
    )  # fmt: skip
    assert answer.status_code == 302
    episode = Episode.objects.get(participation=world["mine"], employer="Kaspi")
    assert episode.source == "participant" and episode.review == "pending" and episode.tier == 1
    assert client.get(f"/registry/returns/episodes/{episode.pk}/document/").status_code == 200
    assert signed_in(world["other_admin"]).get(f"/registry/returns/episodes/{episode.pk}/document/").status_code == 404
    # The programme's administrator accepts it: the tier rises.
    assert (
        signed_in(world["admin"])
        .post(f"/registry/returns/episodes/{episode.pk}/review/", {"decision": "accept"})
        .status_code
        == 302
    )
    episode.refresh_from_db()
    assert episode.review == "accepted" and episode.tier == 2
    bad = client.post(f"/registry/returns/participants/{world['mine'].pk}/episodes/",
                      {"kind": "employment", "start": "2024-05-01", "end": "2024-01-01", "country": "KAZ"}, follow=True)  # fmt: skip
    assert "before the start" in bad.content.decode()


def test_an_import_through_the_page_reports_every_row(world):
    client = signed_in(world["admin"])
    upload = SimpleUploadedFile(
        "more.csv", b"external_id,full_name,cohort,graduation_date\nB-99,New,2018,31.12.2022\nB-98,,2018,2022-06-30\n"
    )
    answer = client.post(
        "/registry/returns/imports/", {"programme": "bolashak", "kind": "participants", "file": upload}, follow=True
    )
    page = answer.content.decode()
    assert "was not imported" in page and "full_name: empty" in page
    assert not Participation.objects.filter(external_id="B-99").exists()
    forged = SimpleUploadedFile("x.csv", b"external_id,full_name,cohort,graduation_date\nX,X,2018,2022-06-30\n")
    assert (
        signed_in(world["admin"])
        .post("/registry/returns/imports/", {"programme": "serpin", "kind": "participants", "file": forged})
        .status_code
        == 302
    )
    assert not Participation.objects.filter(external_id="X").exists()  # not a programme this admin has


def test_the_employer_link_shows_one_episode_and_works_once(world, mailoutbox):
    episode = episode_record(world["mine"], {"kind": "employment", "start": D(2024, 2, 1), "country": "KAZ",
                                             "employer": "Halyk"}, source=Episode.Source.PARTICIPANT)  # fmt: skip
    link = employer_link_request(episode, email="hr@halyk.example", user=world["member"], base_url="http://testserver")
    path = link.replace("http://testserver", "")
    anonymous = Client()
    page = anonymous.get(path).content.decode()
    assert "Halyk" in page and "Scholar 1" in page and "Scholar 2" not in page
    done = anonymous.post(path, {"action": "confirm", "start": "2024-02-01", "end": "", "employer": "Halyk",
                                 "specialty_related": "unknown"})  # fmt: skip
    assert done.status_code == 200 and "confirmed by the employer" in done.content.decode()
    episode.refresh_from_db()
    assert episode.source == "employer"
    assert anonymous.get(path).status_code == 410
    assert anonymous.get("/registry/confirm/not-a-token/").status_code == 410


def test_the_api_gives_the_indicators_as_json_and_csv_and_the_at_risk_list(world):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world["admin"])
    data = api.get("/api/v1/registry/obligations/indicators/?programme=bolashak").json()
    assert data["programme"] == "bolashak" and data["participants"] == 40 and data["threshold"] == 5
    codes = {r["code"] for r in data["rates"]}
    assert {"return_6m", "return_12m", "return_24m", "fulfilment", "retention_1y", "knowledge"} <= codes
    assert all({"numerator", "denominator", "window"} <= set(r) for r in data["rates"])
    # Every second scholar has worked in Kazakhstan since the September after graduating.
    retention = {r["code"]: r for r in data["rates"]}["retention_1y"]
    overall = next(row for row in retention["rows"] if row["cohort"] == "all")
    assert (overall["numerator"], overall["denominator"]) == (20, 40)
    csv_text = api.get("/api/v1/registry/obligations/indicators/?programme=bolashak&format=csv").content.decode()
    assert csv_text.splitlines()[0].startswith("programme,indicator,label,cohort,numerator,denominator,rate")
    assert api.get("/api/v1/registry/obligations/at-risk/?programme=bolashak").status_code == 200
    other = APIClient()
    other.force_authenticate(world["other_admin"])
    assert other.get("/api/v1/registry/obligations/indicators/?programme=bolashak").status_code == 404
    member = APIClient()
    member.force_authenticate(world["member"])
    assert member.get("/api/v1/registry/obligations/indicators/").status_code == 403
    [mine] = member.get("/api/v1/registry/me/obligations/").json()
    assert mine["external_id"] == "B-1" and mine["months_required"] == 60


def test_the_reason_and_risks_are_shown_in_the_readers_language(world):
    client = signed_in(world["admin"])
    client.cookies["django_language"] = "ru"
    worker = Participation.objects.get(external_id="B-2")
    page = client.get(f"/registry/returns/participants/{worker.pk}/").content.decode()
    assert worker.status_reason not in page  # the English reason is stored for the API and history
    assert "засчитываем" in page or "отработано" in page
    client.cookies["django_language"] = "kk"
    assert "есептелетін" in client.get(f"/registry/returns/participants/{worker.pk}/").content.decode()


def test_the_returns_pillar_of_the_monitoring_pages_shows_the_programmes_figures(world):
    page = signed_in(world["admin"]).get("/analytics/monitoring/gain/").content.decode()
    assert 'id="gain-programme-returns"' in page and 'id="gain-programme-fulfilment"' in page
    assert "Bolashak" in page and "Serpin-2050" not in page
    other = signed_in(world["other_admin"]).get("/analytics/monitoring/gain/").content.decode()
    assert "Bolashak" not in other.split('id="gain-programme-returns"')[1].split("</figure>")[0]


def test_a_nul_byte_in_a_filter_or_programme_matches_nothing_rather_than_failing(world):
    from rest_framework.test import APIClient

    client = signed_in(world["admin"])
    assert client.get("/registry/returns/participants/?q=a%00b&region=%00").status_code == 200
    api = APIClient()
    api.force_authenticate(world["admin"])
    # the API refuses a NUL character in any parameter with a clear 400 (config/middleware.py)
    assert api.get("/api/v1/registry/obligations/at-risk/?programme=%00").status_code == 400
    assert api.get("/api/v1/registry/obligations/indicators/?programme=bol%00ashak").status_code == 400
