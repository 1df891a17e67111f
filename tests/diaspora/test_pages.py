"""The registry's server-rendered pages, through the Django test client."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Programme, Role, User
from diaspora.models import Consent, ExpertiseRequest, Institution, Match, MatchRun, Message, Person, Visibility
from diaspora.services.registry import OfferInput, ProfileInput, consent_withdraw, person_register, person_set_status
from surveys.models import Invitation, Panel, PanelMember, Respondent, Response, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.tokens import invitation_token, new_nonce, token_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


# --------------------------------------------------------------------------- helpers


def person(name, *, visibility=None, status=Person.Status.ACTIVE, bio="Data engineer working on pipelines"):
    user = UserFactory(username=re.sub(r"\W", "", name.lower()))
    data = ProfileInput(
        display_name=name,
        bio=bio,
        field_of_study="061",
        skills=["machine-learning", "data-analysis"],
        languages=["en", "ru"],
        country="DEU",
        city="Berlin",
        offers=[OfferInput(mode="mentoring", capacity=3), OfferInput(mode="guest_lecture", capacity=2)],
        visibility=visibility or {"profile": "institutions", "expertise": "institutions", "contact": "institutions"},
    )
    created = person_register(user=user, data=data, consents=["registry", "matching", "messages"])
    if status != Person.Status.ACTIVE:
        person_set_status(person=created, status=status)
    return created


@pytest.fixture
def crowd(db):
    """One listed expert and three who must never be shown: hidden, withdrawn, paused."""
    shown = person("Aigerim Visible")
    hidden = person("Bolat Hidden", visibility={"profile": "hidden"})
    withdrawn = person("Dana Withdrawn")
    consent_withdraw(person=withdrawn, purpose=Consent.Purpose.REGISTRY)
    paused = person("Erlan Paused", status=Person.Status.PAUSED)
    return {"shown": shown, "hidden": hidden, "withdrawn": withdrawn, "paused": paused}


NEVER_SHOWN = ["Bolat Hidden", "Dana Withdrawn", "Erlan Paused"]


@pytest.fixture
def bolashak(db):
    return Programme.objects.get_or_create(slug="bolashak", defaults={"name": "Bolashak"})[0]


@pytest.fixture
def institution(bolashak):
    found = Institution.objects.create(name="Satbayev University", region="KZ-75", city="Almaty")
    found.programmes.add(bolashak)
    return found


@pytest.fixture
def staff(institution):
    user = UserFactory(username="saule", role=Role.INSTITUTION_STAFF, email="saule@satbayev.example")
    institution.staff.add(user)
    return user


@pytest.fixture
def programme_admin(bolashak):
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(bolashak)
    return user


@pytest.fixture
def expertise_request(institution, staff, bolashak):
    return ExpertiseRequest.objects.create(
        institution=institution,
        programme=bolashak,
        created_by=staff,
        title="Machine learning mentoring",
        topic="Mentoring for our data science master's students on machine learning projects",
        mode="mentoring",
        field_of_study="061",
        skills=["machine-learning"],
        languages=["en"],
        region="KZ-75",
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def join_data(**changes):
    data = {
        "display_name": "Nurlan Seitkali",
        "bio": "Civil engineer in Munich, bridges and tunnels.",
        "occupation": "2",
        "field_of_study": "073",
        "skills": ["civil-engineering"],
        "tags": "tunnels, BIM",
        "languages": ["kk", "de"],
        "country": "DEU",
        "city": "Munich",
        "timezone": "",
        "home_region": "KZ-35",
        "departure_year": "2015",
        "offer_mentoring": "on",
        "capacity_mentoring": "2",
        "unit_mentoring": "engagements",
        "remote_mentoring": "on",
        "visibility_profile": "institutions",
        "visibility_expertise": "institutions",
        "visibility_location": "administrators",
        "visibility_contact": "institutions",
        "consent_registry": "on",
        "consent_matching": "on",
    }
    for mode in ("guest_lecture", "joint_research", "co_supervision", "consulting", "investment",
                 "internship_hosting", "short_visit", "return"):  # fmt: skip
        data[f"unit_{mode}"] = "engagements"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def completed_survey_link(graduate_version, *, consent_registry="yes"):
    panel = Panel.objects.create(slug="bolashak-2020", name="Bolashak 2020")
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="grad-2026", name="Graduates 2026", panel=panel
    )
    respondent = Respondent.objects.create(email="aigerim@example.kz")
    PanelMember.objects.create(panel=panel, respondent=respondent, name="Aigerim Nurova", language="en")
    answers = {**SAMPLE_GRADUATE_ANSWERS, "consent_registry": consent_registry, "languages_spoken": ["kazakh"]}
    response = Response.objects.create(
        survey=graduate_version.survey,
        version=graduate_version,
        wave=wave,
        instance_id=uuid.uuid4(),
        status=Response.Status.COMPLETE,
        answers=answers,
        content_hash="x",
        language="en",
        submitted_at=timezone.now(),
    )
    nonce = new_nonce()
    token = invitation_token(nonce)
    Invitation.objects.create(
        wave=wave,
        respondent=respondent,
        token_nonce=nonce,
        token_hash=token_hash(token),
        language="en",
        status=Invitation.Status.COMPLETE,
        response=response,
    )
    return response, f"/registry/join/?from=i:{token}"


# --------------------------------------------------------------------------- joining


def test_an_anonymous_visitor_sees_the_form_with_account_fields_and_the_consent_wording(client):
    response = client.get("/registry/join/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html and "/accounts/login/" in html
    assert "List my profile in the Kelu registry" in html and "Wording version 2026-11" in html


def test_a_signed_in_user_joins_and_lands_on_the_profile(client, respondent):
    signed_in(client, respondent)
    response = client.post("/registry/join/", join_data())
    assert response.status_code == 302 and response.url == "/registry/me/"
    created = Person.objects.get(user=respondent)
    assert created.skills == ["civil-engineering"] and created.tags == ["tunnels", "bim"]
    assert created.timezone == "Europe/Berlin" and created.source == Person.Source.DIRECT
    assert created.offers.get().capacity == 2
    assert set(created.consents.values_list("purpose", flat=True)) == {"registry", "matching"}
    assert client.get("/registry/me/").status_code == 200


def test_an_anonymous_visitor_gets_an_account_in_the_same_submit(client):
    data = join_data(username="nurlan", email="nurlan@example.de", password="a long enough pass 2026")
    response = client.post("/registry/join/", data)
    assert response.status_code == 302
    user = User.objects.get(username="nurlan")
    assert user.role == Role.RESPONDENT and user.email == "nurlan@example.de"
    assert Person.objects.filter(user=user).exists()
    assert int(client.session["_auth_user_id"]) == user.pk


def test_a_survey_link_prefills_the_form_and_the_email(client, graduate_version):
    _response, url = completed_survey_link(graduate_version)
    html = client.get(url).content.decode()
    assert "We filled in what we could from your survey answers" in html
    assert 'value="Aigerim Nurova"' in html and 'value="aigerim@example.kz"' in html and 'value="Berlin"' in html
    assert re.search(r'<option value="DEU" selected>', html)
    assert re.search(r'name="offer_mentoring" [^>]*checked', html)
    assert re.search(r'name="languages" value="kk"[^>]*checked', html)
    assert 'value="Europe/Berlin"' in html


def test_joining_from_a_survey_link_records_the_response_and_logs_the_new_user_in(client, graduate_version):
    survey_response, url = completed_survey_link(graduate_version)
    data = join_data(username="aigerim", email="aigerim@example.kz", password="a long enough pass 2026")
    response = client.post(url, data)
    assert response.status_code == 302
    created = Person.objects.get(user__username="aigerim")
    assert created.source == Person.Source.SURVEY and created.source_response_id == survey_response.pk
    assert "_auth_user_id" in client.session
    assert survey_response.invitation.respondent.__class__.objects.get(user=created.user)  # the respondent is linked


def test_a_survey_without_the_registry_answer_does_not_prefill(client, graduate_version):
    _response, url = completed_survey_link(graduate_version, consent_registry="no")
    html = client.get(url).content.decode()
    assert "This survey link cannot fill in the form" in html and "Aigerim Nurova" not in html


def test_bad_input_shows_every_error_and_keeps_everything_typed(client, respondent):
    signed_in(client, respondent)
    data = join_data(display_name="", capacity_mentoring="", departure_year="1800", remote_mentoring=None)
    response = client.post("/registry/join/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="error-summary"' in html
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    for anchor in ("#id_display_name", "#id_capacity_mentoring", "#id_departure_year", "#id_remote_mentoring"):
        assert anchor in summary
    assert "Civil engineer in Munich, bridges and tunnels." in html and 'value="Munich"' in html
    assert 'value="tunnels, BIM"' in html
    assert re.search(r'name="skills" value="civil-engineering"[^>]*checked', html)
    assert re.search(r'name="offer_mentoring" [^>]*checked', html)
    assert 'aria-invalid="true"' in html
    assert not Person.objects.exists()


def test_a_new_account_with_bad_profile_input_is_not_created(client):
    data = join_data(display_name="", username="nurlan", email="nurlan@example.de", password="a long enough pass 2026")
    response = client.post("/registry/join/", data)
    assert response.status_code == 400 and not User.objects.filter(username="nurlan").exists()
    assert 'value="nurlan"' in response.content.decode()


def test_joining_without_the_registry_consent_is_refused(client, respondent):
    signed_in(client, respondent)
    response = client.post("/registry/join/", join_data(consent_registry=None))
    assert response.status_code == 400
    assert "You can join the registry only if you agree to be listed." in response.content.decode()
    assert not Person.objects.exists()


def test_an_account_with_a_profile_is_sent_to_its_profile_page(client):
    someone = person("Aigerim Visible")
    signed_in(client, someone.user)
    response = client.get("/registry/join/")
    assert response.status_code == 302 and response.url == "/registry/me/"


# --------------------------------------------------------------------------- my profile


def test_confirming_the_profile_clears_the_stale_warning(client):
    someone = person("Aigerim Visible")
    long_ago = timezone.now() - timedelta(days=400)
    Person.objects.filter(pk=someone.pk).update(last_confirmed_at=long_ago, stale_warned_at=long_ago)
    signed_in(client, someone.user)
    assert 'id="stale-banner"' in client.get("/registry/me/").content.decode()
    response = client.post("/registry/me/confirm/")
    assert response.status_code == 302
    someone.refresh_from_db()
    assert someone.stale_warned_at is None and someone.last_confirmed_at > timezone.now() - timedelta(minutes=1)
    assert 'id="stale-banner"' not in client.get("/registry/me/").content.decode()


def test_a_consent_can_be_withdrawn_on_a_paused_profile(client):
    someone = person("Erlan Paused", status=Person.Status.PAUSED)
    signed_in(client, someone.user)
    response = client.post("/registry/me/consents/messages/withdraw/")
    assert response.status_code == 302
    assert not someone.consents.filter(purpose="messages", withdrawn_at__isnull=True).exists()


def test_pausing_and_resuming_the_profile(client):
    someone = person("Aigerim Visible")
    signed_in(client, someone.user)
    client.post("/registry/me/status/", {"status": "paused"})
    someone.refresh_from_db()
    assert someone.status == Person.Status.PAUSED
    client.post("/registry/me/status/", {"status": "active"})
    someone.refresh_from_db()
    assert someone.status == Person.Status.ACTIVE


def test_editing_the_profile_keeps_typed_data_on_error(client):
    someone = person("Aigerim Visible")
    signed_in(client, someone.user)
    response = client.post("/registry/me/", join_data(display_name="", city="Hamburg"))
    assert response.status_code == 400 and 'value="Hamburg"' in response.content.decode()
    response = client.post("/registry/me/", join_data(city="Hamburg"))
    someone.refresh_from_db()
    assert response.status_code == 302 and someone.city == "Hamburg"


def test_an_accept_over_capacity_is_refused_with_a_clear_message(client, expertise_request, institution):
    someone = person("Aigerim Visible")
    offer = someone.offers.get(mode="mentoring")
    offer.capacity = 1
    offer.save()
    other = ExpertiseRequest.objects.create(institution=institution, title="Other", topic="x" * 30, mode="mentoring")
    now = timezone.now()
    Match.objects.create(request=other, person=someone, offer=offer, status="accepted", score=0.5, responded_at=now)
    offered = Match.objects.create(
        request=expertise_request, person=someone, offer=offer, status="offered", score=0.7,
        offered_at=now, expires_at=now + timedelta(days=7),
    )  # fmt: skip
    signed_in(client, someone.user)
    response = client.post(f"/registry/me/engagements/{offered.pk}/accept/", follow=True)
    assert "Your limit for this quarter is used up: 1 of 1 engagement taken" in response.content.decode()
    offered.refresh_from_db()
    assert offered.status == Match.Status.OFFERED


def test_an_offer_shows_its_explanation_and_can_be_declined(client, expertise_request):
    someone = person("Aigerim Visible")
    offered = Match.objects.create(
        request=expertise_request, person=someone, offer=someone.offers.get(mode="mentoring"), status="offered",
        score=0.7, components={"skills": 1.0}, details={"shared_skills": ["machine-learning"], "mode": "mentoring",
        "remote": True, "remaining_after": 2, "unit": "engagements"}, offered_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    signed_in(client, someone.user)
    html = client.get("/registry/me/").content.decode()
    assert "Machine learning mentoring" in html and "shared skills: Machine learning" in html
    client.post(f"/registry/me/engagements/{offered.pk}/decline/", {f"m{offered.pk}-reason": "Too busy"})
    offered.refresh_from_db()
    assert offered.status == Match.Status.DECLINED and offered.decline_reason == "Too busy"


# --------------------------------------------------------------------------- never showing what is hidden


def test_the_directory_never_lists_a_hidden_withdrawn_or_paused_profile(client, crowd, staff):
    html = signed_in(client, staff).get("/registry/people/").content.decode()
    assert "Aigerim Visible" in html
    for name in NEVER_SHOWN:
        assert name not in html


def test_search_never_finds_a_hidden_withdrawn_or_paused_profile(client, crowd, staff):
    html = signed_in(client, staff).get("/registry/people/", {"q": "pipelines", "skill": "machine-learning"}).content
    html = html.decode()
    assert "Aigerim Visible" in html
    for name in NEVER_SHOWN:
        assert name not in html


@pytest.mark.parametrize("who", ["hidden", "withdrawn", "paused"])
def test_the_person_page_of_a_hidden_withdrawn_or_paused_profile_is_a_404(client, crowd, staff, who):
    signed_in(client, staff)
    assert client.get(f"/registry/people/{crowd['shown'].pk}/").status_code == 200
    assert client.get(f"/registry/people/{crowd[who].pk}/").status_code == 404


def test_the_top_experts_page_never_lists_a_hidden_withdrawn_or_paused_profile(client, crowd, staff, expertise_request):
    html = signed_in(client, staff).get(f"/registry/requests/{expertise_request.pk}/experts/").content.decode()
    assert "Aigerim Visible" in html and "has every requested skill" in html
    for name in NEVER_SHOWN:
        assert name not in html


def test_the_proposals_page_never_shows_a_hidden_withdrawn_or_paused_profile(client, crowd, staff, expertise_request):
    for rank, someone in enumerate(crowd.values(), start=1):
        Match.objects.create(request=expertise_request, person=someone, status="proposed", score=0.5, rank=rank)
    html = signed_in(client, staff).get(f"/registry/requests/{expertise_request.pk}/").content.decode()
    assert "Aigerim Visible" in html
    for name in NEVER_SHOWN:
        assert name not in html


def test_a_respondent_sees_only_public_profiles_in_the_directory(client, respondent):
    person("Aigerim Visible")
    person("Public Person", visibility={"profile": "public"})
    html = signed_in(client, respondent).get("/registry/people/").content.decode()
    assert "Public Person" in html and "Aigerim Visible" not in html


def test_the_card_leaves_out_the_location_a_viewer_may_not_see(client, staff):
    someone = person("Aigerim Visible")
    html = signed_in(client, staff).get(f"/registry/people/{someone.pk}/").content.decode()
    assert "Berlin" not in html and "Machine learning" in html


# --------------------------------------------------------------------------- requests


def test_a_staff_member_posts_a_request(client, staff, institution):
    data = {
        "institution": institution.pk, "title": "Guest lectures on GIS", "topic": "A series of guest lectures on GIS "
        "for third-year geography students", "mode": "guest_lecture", "skills": ["gis"], "languages": ["kk", "ru"],
        "format": "remote", "experts_needed": "2", "hours_per_expert": "6",
    }  # fmt: skip
    response = signed_in(client, staff).post("/registry/requests/new/", data)
    created = ExpertiseRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/registry/requests/{created.pk}/"
    assert created.region == "KZ-75" and created.skills == ["gis"] and created.experts_needed == 2


def test_the_request_form_shows_field_level_errors_and_keeps_the_input(client, staff, institution):
    data = {
        "institution": institution.pk, "title": "GIS", "topic": "Too short", "mode": "", "format": "remote",
        "experts_needed": "0", "hours_per_expert": "8", "starts_on": "2026-05-01", "ends_on": "2026-04-01",
    }  # fmt: skip
    response = signed_in(client, staff).post("/registry/requests/new/", data)
    html = response.content.decode()
    assert response.status_code == 400 and not ExpertiseRequest.objects.exists()
    for anchor in ("#id_mode", "#id_experts_needed", "#id_ends_on"):
        assert anchor in html.split('id="error-summary"')[1].split("</div>")[0]
    assert 'value="GIS"' in html and "Too short" in html


def test_a_service_refusal_is_shown_next_to_its_field(client, staff, institution):
    data = {
        "institution": institution.pk, "title": "GIS", "topic": "Too short", "mode": "mentoring", "format": "remote",
        "experts_needed": "1", "hours_per_expert": "8",
    }  # fmt: skip
    response = signed_in(client, staff).post("/registry/requests/new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="err-topic">[^<]*20 to 4,000 characters', html)


def test_when_nobody_matches_the_page_says_why_and_shows_the_filter_trail(client, crowd, staff, expertise_request):
    ExpertiseRequest.objects.filter(pk=expertise_request.pk).update(mode="investment")
    html = signed_in(client, staff).get(f"/registry/requests/{expertise_request.pk}/experts/").content.decode()
    assert 'id="nobody"' in html and "Nobody offers this kind of engagement." in html
    assert 'id="filter-trail"' in html and "offer this engagement" in html


def test_staff_can_offer_waiting_proposals(client, crowd, staff, expertise_request):
    match = Match.objects.create(request=expertise_request, person=crowd["shown"], status="proposed", score=0.5,
                                 offer=crowd["shown"].offers.get(mode="mentoring"))  # fmt: skip
    response = signed_in(client, staff).post(f"/registry/requests/{expertise_request.pk}/offer/")
    match.refresh_from_db()
    assert response.status_code == 302 and match.status == Match.Status.OFFERED


def test_closing_a_request(client, staff, expertise_request):
    signed_in(client, staff).post(f"/registry/requests/{expertise_request.pk}/close/")
    expertise_request.refresh_from_db()
    assert expertise_request.status == ExpertiseRequest.Status.CLOSED


# --------------------------------------------------------------------------- messages


def test_staff_write_to_a_person_who_replies_and_no_address_is_shown(client, staff):
    someone = person("Aigerim Visible")
    signed_in(client, staff)
    response = client.post(f"/registry/people/{someone.pk}/", {"subject": "Lecture", "body": "Could you lecture?"})
    assert response.status_code == 302
    message = Message.objects.get(recipient=someone.user)
    client.force_login(someone.user)
    inbox = client.get("/registry/messages/").content.decode()
    assert "Lecture" in inbox and "Institution staff (Satbayev University)" in inbox  # not the login name
    assert "saule" not in inbox
    page = client.get(f"/registry/messages/{message.pk}/").content.decode()
    assert "Could you lecture?" in page
    for html in (inbox, page):
        assert "@" not in re.sub(r"<[^>]+>", "", html)
    client.post(f"/registry/messages/{message.pk}/", {"body": "Yes, gladly."})
    reply = Message.objects.get(recipient=staff)
    assert reply.subject == "Re: Lecture" and reply.body == "Yes, gladly."
    message.refresh_from_db()
    assert message.read_at is not None


def test_someone_elses_message_is_a_404(client, staff, respondent):
    someone = person("Aigerim Visible")
    message = Message.objects.create(sender=staff, recipient=someone.user, subject="Hi", body="Hello")
    assert signed_in(client, respondent).get(f"/registry/messages/{message.pk}/").status_code == 404


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    "url", ["/registry/me/", "/registry/messages/", "/registry/people/", "/registry/requests/", "/registry/admin/"]
)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/registry/requests/", "/registry/requests/new/", "/registry/admin/"])
def test_a_respondent_gets_a_clear_403(client, respondent, url):
    response = signed_in(client, respondent).get(url)
    assert response.status_code == 403 and "This page is not for your account" in response.content.decode()


def test_staff_may_not_open_the_matching_administration(client, staff):
    assert signed_in(client, staff).get("/registry/admin/metrics/").status_code == 403


def test_another_institutions_request_is_a_404(client, expertise_request):
    outsider = UserFactory(username="other-staff", role=Role.INSTITUTION_STAFF)
    Institution.objects.create(name="Other University", region="KZ-71").staff.add(outsider)
    signed_in(client, outsider)
    assert client.get(f"/registry/requests/{expertise_request.pk}/").status_code == 404
    assert client.get(f"/registry/requests/{expertise_request.pk}/experts/").status_code == 404
    assert client.post(f"/registry/requests/{expertise_request.pk}/close/").status_code == 404


def test_a_programme_admin_without_an_institution_cannot_post_requests(client, programme_admin):
    assert signed_in(client, programme_admin).get("/registry/requests/new/").status_code == 403


def test_an_administrator_runs_matching_and_watches_the_run(
    client, programme_admin, django_capture_on_commit_callbacks
):
    signed_in(client, programme_admin)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/registry/admin/runs/")
    run = MatchRun.objects.get()
    assert run.kind == MatchRun.Kind.MANUAL and run.key.startswith("manual-") and run.requested_by == programme_admin
    assert len(callbacks) == 1
    assert response.status_code == 302 and response.url == f"/registry/admin/runs/{run.pk}/"
    page = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in page and "Created" in page
    assert run.key in client.get("/registry/admin/").content.decode()


def test_the_metrics_page_shows_each_figure_with_its_definition(client, programme_admin):
    html = signed_in(client, programme_admin).get("/registry/admin/metrics/").content.decode()
    for key in ("acceptance", "response", "coverage", "gini"):
        assert f'data-metric="{key}"' in html
    assert "Offers accepted, out of offers accepted, declined or left to expire." in html


def test_pages_are_translated_and_carry_the_language(client, respondent):
    signed_in(client, respondent)
    client.cookies["django_language"] = "ru"
    html = client.get("/registry/join/").content.decode()
    assert '<html lang="ru">' in html


def test_the_login_page_signs_in_and_leads_to_the_members_home_with_their_profile(client):
    someone = person("Aigerim Visible")
    someone.user.set_password(PASSWORD)
    someone.user.save()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": someone.user.username, "password": PASSWORD})
    assert response.status_code == 302
    home = client.get(response.url, follow=True)
    assert home.redirect_chain[-1][0] == "/registry/"
    assert 'href="/registry/me/"' in home.content.decode() and "Aigerim Visible" in home.content.decode()


def test_visibility_defaults_are_preselected(client):
    html = client.get("/registry/join/").content.decode()
    for group, level in {"profile": "institutions", "location": "administrators"}.items():
        assert re.search(rf'name="visibility_{group}" value="{level}"[^>]*checked', html)
    assert str(Visibility.HIDDEN.label) in html


def test_a_finished_run_shows_its_figures(
    client, programme_admin, crowd, expertise_request, django_capture_on_commit_callbacks, tasks_in_process
):
    signed_in(client, programme_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/registry/admin/runs/")
    run = MatchRun.objects.get()
    assert run.status == MatchRun.Status.COMPLETE
    html = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' not in html and 'id="run-figures"' in html and "Proposals created" in html
    assert Match.objects.filter(request=expertise_request, person=crowd["shown"]).exists()


def test_the_join_page_speaks_kazakh(client):
    client.cookies["django_language"] = "kk"
    html = client.get("/registry/join/").content.decode()
    assert '<html lang="kk">' in html and "Машиналық оқыту" in html


def test_a_superuser_sees_every_request_and_the_administration(client, expertise_request):
    boss = UserFactory(username="root", is_superuser=True, is_staff=True)
    signed_in(client, boss)
    assert expertise_request.title in client.get("/registry/requests/").content.decode()
    assert client.get("/registry/admin/metrics/").status_code == 200
