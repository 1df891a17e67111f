"""Demo registry: a few home institutions, experts (the demo graduate among them), requests,
and one matching run, so a fresh `make run` shows proposals with explanations."""

from __future__ import annotations

from accounts.demo import demo_programmes
from accounts.models import User

from .models import Consent, ExpertiseRequest, Institution, MatchingSettings, Person
from .services import lifecycle, matching
from .services.registry import OfferInput, ProfileInput, person_register
from .services.requests import RequestInput, institution_create, request_create

ALL = [Consent.Purpose.REGISTRY, Consent.Purpose.MATCHING, Consent.Purpose.MESSAGES]
OPEN_UP = {
    "profile": "institutions",
    "expertise": "institutions",
    "location": "institutions",
    "contact": "institutions",
}

INSTITUTIONS = [
    # name, kind, region, city, programmes it takes part in
    ("Toraighyrov University", "university", "KZ-55", "Pavlodar", ["bolashak", "serpin-2050"]),
    ("Al-Farabi Kazakh National University", "university", "KZ-75", "Almaty", ["bolashak"]),
    ("Atyrau Oil and Gas Institute", "university", "KZ-23", "Atyrau", ["bolashak"]),
]

# username, name, country, city, field, skills, languages, home region, bio, offers
EXPERTS = [
    ("graduate", "Erlan Sadykov", "DEU", "Munich", "053", ["hydrology", "gis", "water-resources-management"],
     ["kk", "ru", "en", "de"], "KZ-55",
     "Hydrologist at a Munich research institute: river basin modelling, floods and GIS. Гидрология, су ресурстары.",
     [("co_supervision", 2, "engagements", True, False), ("guest_lecture", 12, "hours", True, True)]),
    ("aigul-data", "Aigul Nurlanovna", "GBR", "London", "061", ["machine-learning", "data-analysis"],
     ["kk", "ru", "en"], "KZ-75", "Machine learning engineer in London; teaches data science to graduate students.",
     [("guest_lecture", 8, "hours", True, False), ("mentoring", 3, "engagements", True, False)]),
    ("marat-oil", "Marat Zhaksylykov", "NOR", "Stavanger", "071", ["petroleum-engineering"],
     ["ru", "en"], "KZ-23", "Reservoir engineer in Stavanger, 15 years offshore. Нефтегазовое дело, разработка месторождений.",
     [("consulting", 2, "engagements", True, True), ("internship_hosting", 2, "engagements", False, True)]),
    ("dana-health", "Dana Omarova", "USA", "Boston", "091", ["epidemiology", "public-health"],
     ["kk", "en"], "KZ-19", "Epidemiologist at a Boston school of public health; cohort studies and surveillance.",
     [("joint_research", 2, "engagements", True, False), ("mentoring", 2, "engagements", True, False)]),
    ("timur-water", "Timur Akhmetov", "NLD", "Delft", "073", ["irrigation", "water-resources-management"],
     ["ru", "en"], "KZ-61", "Water engineer in Delft: irrigation systems and reservoir operation in Central Asia.",
     [("co_supervision", 1, "engagements", True, False), ("short_visit", 1, "engagements", False, True)]),
]  # fmt: skip

REQUESTS = [
    ("Toraighyrov University", "Hydrology co-supervisor", "co_supervision", "053", ["hydrology", "gis"], ["kk"],
     "A co-supervisor for a PhD thesis on flood risk in the Irtysh river basin: hydrological modelling and GIS "
     "mapping. Су тасқыны, Ертіс өзені.", 1, "bolashak"),
    ("Al-Farabi Kazakh National University", "Guest lectures on machine learning", "guest_lecture", "061",
     ["machine-learning"], ["kk", "ru", "en"],
     "Three remote guest lectures on applied machine learning for master's students in computer science.", 1,
     "bolashak"),
    ("Atyrau Oil and Gas Institute", "Reservoir engineering consulting", "consulting", "071",
     ["petroleum-engineering"], ["ru"], "Advice on a field development plan for a mature oil field; "
     "разработка нефтяных месторождений.", 1, "bolashak"),
    ("Toraighyrov University", "Mentors for graduates working in Pavlodar", "mentoring", "053", ["water-resources-management"],
     ["kk", "ru"], "Mentoring for young engineers who came to work in Pavlodar region after their studies: water "
     "management, career advice. Жас мамандарға тәлімгерлік.", 2, "serpin-2050"),
]  # fmt: skip


def registry_demo() -> dict[str, int]:
    """Create what is missing (safe to rerun) and match the open requests once."""
    programmes = demo_programmes()
    MatchingSettings.objects.get_or_create(programme=None)
    for programme in programmes.values():  # each programme's administrators tune their own weights
        MatchingSettings.objects.get_or_create(programme=programme)
    staff = User.objects.filter(username="institution").first()
    institutions = {}
    for name, kind, region, city, taking_part in INSTITUTIONS:
        found = Institution.objects.filter(name=name).first()
        institutions[name] = found or institution_create(name=name, kind=kind, region=region, city=city)
        institutions[name].programmes.add(*[programmes[slug] for slug in taking_part])
        if staff is not None:
            institutions[name].staff.add(staff)
    for username, name, country, city, field, skills, languages, region, bio, offers in EXPERTS:
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.kelu.local"})
        if Person.objects.filter(user=user).exists():
            continue
        data = ProfileInput(
            display_name=name, bio=bio, field_of_study=field, occupation="2", skills=skills, languages=languages,
            country=country, city=city, home_region=region, programmes=["bolashak"], visibility=OPEN_UP,
            offers=[OfferInput(mode=m, capacity=c, unit=u, remote=r, onsite=o) for m, c, u, r, o in offers],
        )  # fmt: skip
        person_register(user=user, data=data, consents=ALL)
    if staff is not None and not ExpertiseRequest.objects.exists():
        for institution, title, mode, field, skills, languages, topic, needed, programme in REQUESTS:
            request_create(
                user=staff,
                data=RequestInput(
                    institution_id=institutions[institution].pk, title=title, topic=topic, mode=mode,
                    field_of_study=field, skills=skills, languages=languages, experts_needed=needed,
                    programme=programme,
                ),
            )  # fmt: skip
    for programme in programmes.values():
        run, created = matching.matching_run_start(kind="manual", key=f"demo-{programme.slug}", programme=programme)
        if created:
            matching.matching_run(run=run)
    for request in ExpertiseRequest.objects.filter(
        title="Hydrology co-supervisor", matches__status="proposed"
    ).distinct():
        lifecycle.request_offer_proposals(request=request)
    return {"people": Person.objects.count(), "requests": ExpertiseRequest.objects.count()}
