"""Joining, editing, consents, visibility and staleness, through the services and selectors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from diaspora import selectors
from diaspora.models import Consent, Person, Visibility
from diaspora.selectors import DirectoryFilters
from diaspora.services import registry
from diaspora.services.registry import OfferInput, ProfileInput, RegistryInvalid
from tests.diaspora.people import expert, institution
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _join(**fields):
    user = UserFactory(username=fields.pop("username", "aidana"))
    data = ProfileInput(display_name=fields.pop("display_name", "Aidana"), **fields)
    return registry.person_register(user=user, data=data, consents=fields.pop("consents", ["registry"]))


def test_it_refuses_to_join_without_the_registry_consent():
    user = UserFactory(username="aidana")
    with pytest.raises(RegistryInvalid) as caught:
        registry.person_register(user=user, data=ProfileInput(display_name="A"), consents=["matching"])
    assert "consents" in caught.value.errors
    assert not Person.objects.exists()


def test_it_names_every_bad_field_at_once():
    user = UserFactory(username="aidana")
    data = ProfileInput(
        display_name="",
        skills=["hydrolgy"],
        languages=["xx"],
        country="Germany",
        field_of_study="999",
        offers=[OfferInput(mode="mentoring", capacity=0)],
    )
    with pytest.raises(RegistryInvalid) as caught:
        registry.person_register(user=user, data=data, consents=["registry"])
    errors = caught.value.errors
    assert set(errors) >= {"display_name", "skills", "languages", "country", "field_of_study", "offers"}
    assert "hydrolgy" in errors["skills"] and "hydrology" in errors["skills"]  # a suggestion
    assert "Germany" in errors["country"]


def test_it_refuses_an_offer_neither_remote_nor_on_site():
    with pytest.raises(RegistryInvalid) as caught:
        _join(offers=[OfferInput(mode="mentoring", capacity=2, remote=False, onsite=False)])
    assert "remotely, on site or both" in caught.value.errors["offers"]


def test_it_keeps_a_profile_without_offers_listed_but_unmatchable():
    person = _join(skills=["gis"])
    viewer = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    assert person in selectors.people_listed_for(viewer)
    assert person not in selectors.people_matchable()  # no matching consent, no offers


def test_it_defaults_to_conservative_visibility():
    person = _join()
    assert person.profile_visibility == Visibility.INSTITUTIONS
    assert person.location_visibility == Visibility.ADMINISTRATORS
    assert person.contact_visibility == Visibility.ADMINISTRATORS


def test_it_derives_the_time_zone_from_the_country():
    assert _join(country="DEU").timezone == "Europe/Berlin"


def test_it_records_consents_with_their_text_version():
    person = expert("erlan")
    consent = person.consents.get(purpose=Consent.Purpose.REGISTRY)
    assert consent.text_version and consent.withdrawn_at is None


def test_a_withdrawn_consent_hides_the_person_from_every_reader():
    person = expert("erlan")
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    registry.consent_withdraw(person=person, purpose=Consent.Purpose.REGISTRY)
    assert person not in selectors.people_listed_for(staff)
    assert person not in selectors.people_matchable()
    assert person not in selectors.directory(staff, DirectoryFilters(q="Erlan"))
    assert person.consents.get(purpose="registry").withdrawn_at is not None  # the record stays


def test_withdrawing_the_matching_consent_withdraws_pending_offers():
    from diaspora.models import Match

    person = expert("erlan")
    inst, staff = institution()
    from tests.diaspora.people import expertise_request

    request = expertise_request(staff, inst)
    match = Match.objects.create(request=request, person=person, offer=person.offers.get(), score=0.5, status="offered")
    registry.consent_withdraw(person=person, purpose=Consent.Purpose.MATCHING)
    match.refresh_from_db()
    assert match.status == Match.Status.WITHDRAWN


def test_it_gives_a_consent_once():
    person = expert("erlan")
    registry.consent_give(person=person, purpose="registry")
    assert person.consents.filter(purpose="registry").count() == 1


def test_a_hidden_profile_is_seen_by_nobody_but_its_owner():
    person = expert("erlan", visibility={"profile": Visibility.HIDDEN})
    admin = UserFactory(username="boss", is_superuser=True, is_staff=True)
    assert person not in selectors.people_listed_for(admin)
    assert person not in selectors.people_matchable()
    assert selectors.visible_groups(person.user, person) == {"profile", "expertise", "location", "contact"}


def test_administrators_see_administrator_fields_only_for_their_programmes():
    from accounts.models import Programme

    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    person = expert("erlan", programmes=["bolashak"])
    own = UserFactory(username="own-admin", role=Role.PROGRAMME_ADMIN)
    own.programmes.add(bolashak)
    other = UserFactory(username="other-admin", role=Role.PROGRAMME_ADMIN)
    assert "location" in selectors.visible_groups(own, person)
    assert "location" not in selectors.visible_groups(other, person)
    assert "country" in selectors.person_card(own, person)
    assert "country" not in selectors.person_card(other, person)


def test_filtering_by_a_hidden_group_reveals_nothing():
    expert("erlan", country="DEU")  # location: administrators only (the default)
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    assert not selectors.directory(staff, DirectoryFilters(country="DEU")).exists()
    assert selectors.directory(staff, DirectoryFilters(skill="hydrology")).exists()


def test_a_respondent_sees_only_public_profiles():
    expert("erlan")
    public = expert("saule", visibility={"profile": Visibility.PUBLIC, "expertise": Visibility.PUBLIC})
    other = UserFactory(username="someone")
    assert list(selectors.people_listed_for(other)) == [public]
    assert set(selectors.person_card(other, public)) >= {"display_name", "skills"}


def test_search_finds_words_in_name_bio_and_tags():
    expert("erlan", tags=["irtysh"])
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    for query in ("erlan", "river basins", "irtysh"):
        assert selectors.directory(staff, DirectoryFilters(q=query)).count() == 1, query
    assert not selectors.directory(staff, DirectoryFilters(q="cardiology")).exists()


def test_a_paused_profile_is_not_listed_and_resumes_intact():
    person = expert("erlan")
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    registry.person_set_status(person=person, status=Person.Status.PAUSED)
    assert person not in selectors.people_listed_for(staff)
    registry.person_set_status(person=person, status=Person.Status.ACTIVE)
    assert person in selectors.people_listed_for(staff)


def test_closing_withdraws_every_consent():
    person = expert("erlan")
    registry.person_set_status(person=person, status=Person.Status.CLOSED)
    assert not person.consents.filter(withdrawn_at__isnull=True).exists()


def test_stale_profiles_are_warned_once_then_hidden_until_confirmed(mailoutbox, settings):
    settings.REGISTRY_CONFIRM_DAYS, settings.REGISTRY_STALE_GRACE_DAYS = 365, 30
    person = expert("erlan")
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    Person.objects.filter(pk=person.pk).update(last_confirmed_at=timezone.now() - timedelta(days=400))
    assert registry.people_warn_stale().warned == 1
    assert registry.people_warn_stale().warned == 0  # idempotent
    assert person in selectors.people_listed_for(staff)  # warned, not yet hidden
    Person.objects.filter(pk=person.pk).update(stale_warned_at=timezone.now() - timedelta(days=31))
    assert person not in selectors.people_listed_for(staff)
    registry.person_confirm(person=person)
    assert person in selectors.people_listed_for(staff)


def test_the_stale_warning_is_a_message_in_the_inbox():
    person = expert("erlan")
    Person.objects.filter(pk=person.pk).update(last_confirmed_at=timezone.now() - timedelta(days=400))
    registry.people_warn_stale()
    assert person.user.received_messages.filter(sender__isnull=True).count() == 1


def test_a_second_profile_for_one_account_is_refused():
    person = expert("erlan")
    with pytest.raises(RegistryInvalid):
        registry.person_register(user=person.user, data=ProfileInput(display_name="Again"), consents=["registry"])


def test_hiding_the_profile_withdraws_pending_offers():
    from dataclasses import replace

    from diaspora.models import Match
    from tests.diaspora.people import expertise_request

    person = expert("erlan")
    inst, staff = institution()
    match = Match.objects.create(
        request=expertise_request(staff, inst), person=person, offer=person.offers.get(), score=0.5, status="offered"
    )
    data = ProfileInput(
        display_name="Erlan",
        skills=["hydrology"],
        offers=[OfferInput(mode="co_supervision", capacity=2)],
        visibility={"profile": Visibility.HIDDEN},
    )
    registry.person_update(person=person, data=replace(data))
    match.refresh_from_db()
    assert match.status == Match.Status.WITHDRAWN


def test_a_directory_page_asks_the_database_a_fixed_number_of_times(django_assert_max_num_queries):
    from accounts.models import Programme

    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    for i in range(12):
        expert(f"expert-{i}", programmes=["bolashak"])
    admin = UserFactory(username="own-admin", role=Role.PROGRAMME_ADMIN)
    admin.programmes.add(bolashak)
    with django_assert_max_num_queries(6):
        people = list(selectors.directory(admin, DirectoryFilters()))
        cards = [selectors.person_card(admin, p) for p in people]
    assert len(cards) == 12 and all("country" in c for c in cards)
