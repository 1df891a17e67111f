"""Registry test data made through the real services (no raw rows where a service exists)."""

from __future__ import annotations

from accounts.models import Role
from diaspora.models import FIELD_GROUPS, Consent, Institution
from diaspora.services.registry import OfferInput, ProfileInput, person_register, person_update
from diaspora.services.requests import RequestInput, institution_create, request_create
from tests.factories import UserFactory

ALL_CONSENTS = (Consent.Purpose.REGISTRY, Consent.Purpose.MATCHING, Consent.Purpose.MESSAGES)


def expert(
    username: str,
    *,
    skills=("hydrology", "gis"),
    field="053",
    languages=("kk", "en"),
    bio="Hydrologist working on water resources and river basins; гидрология, су ресурстары.",
    mode="co_supervision",
    capacity=2,
    unit="engagements",
    remote=True,
    onsite=False,
    country="DEU",
    home_region="KZ-55",
    visibility=None,
    consents=ALL_CONSENTS,
    **extra,
):
    user = UserFactory(username=username)
    data = ProfileInput(
        display_name=username.replace("-", " ").title(),
        bio=bio,
        field_of_study=field,
        skills=list(skills),
        languages=list(languages),
        country=country,
        home_region=home_region,
        offers=[OfferInput(mode=mode, capacity=capacity, unit=unit, remote=remote, onsite=onsite)],
        visibility=dict(visibility or {}),
        **extra,
    )
    return person_register(user=user, data=data, consents=consents)


def institution(name="Toraighyrov University", region="KZ-55", staff_username="pavlodar-staff"):
    staff = UserFactory(username=staff_username, role=Role.INSTITUTION_STAFF)
    found = Institution.objects.filter(name=name).first()
    if found:
        found.staff.add(staff)
        return found, staff
    return institution_create(name=name, kind="university", region=region, staff=[staff]), staff


def expertise_request(staff, inst, **overrides):
    data = RequestInput(
        institution_id=inst.pk,
        title=overrides.pop("title", "Hydrology co-supervisor"),
        topic=overrides.pop(
            "topic", "A co-supervisor for a PhD on river basin hydrology and GIS mapping of the Irtysh basin."
        ),
        mode=overrides.pop("mode", "co_supervision"),
        skills=list(overrides.pop("skills", ["hydrology", "gis"])),
        languages=list(overrides.pop("languages", ["kk"])),
        field_of_study=overrides.pop("field_of_study", "053"),
        **overrides,
    )
    return request_create(user=staff, data=data)


def client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def profile_update(person, **changes):
    """The owner edits their profile (an ordinary update): what it holds now, with `changes`."""
    data = dict(
        display_name=person.display_name,
        bio=person.bio,
        field_of_study=person.field_of_study,
        skills=list(person.skills),
        languages=list(person.languages),
        country=person.country,
        home_region=person.home_region,
        offers=[
            OfferInput(mode=o.mode, capacity=o.capacity, unit=o.unit, remote=o.remote, onsite=o.onsite)
            for o in person.offers.all()
        ],
        visibility={group: person.visibility_of(group) for group in FIELD_GROUPS},
    )
    return person_update(person=person, data=ProfileInput(**(data | changes)))
