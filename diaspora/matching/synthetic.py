"""A seeded synthetic registry for tests and the benchmark: experts, requests and planted best matches.

Each ISCED-F narrow field has six curated skills, and each skill a topic phrase in English, Russian
and Kazakh. Bios talk about the person's skills in one of their languages; requests name their
skills in the institution's language. For every request one expert is planted as its best match:
it has every requested skill (and, when the request is interdisciplinary, the rare skill from
another field), the same field, the requested languages, ties to the requesting region (when it
has a home region), a fresh profile, an offer of the mode in a compatible format with capacity
left, and no affiliation with the institution. It is not identifiable by id or text identity:
it is a random expert, and its bio is rewritten in the request's language in its own words
around the skill phrases, which other experts of the field share too.
"""

from __future__ import annotations

import dataclasses
import random

from .synthetic_words import BIO, CITIES, FIELDS, MODE_LABEL, MODES, REQUEST, TITLES
from .types import DEFAULT_WEIGHTS, ExpertRow, OfferRow, RequestRow

# Modes whose capacity is usually counted in hours rather than engagements.
HOURLY_MODES = {"guest_lecture", "consulting", "mentoring", "short_visit"}
LANGUAGES = ("kk", "ru", "en", "de", "tr", "zh", "fr")
TEXT_LANGUAGES = ("kk", "ru", "en")
REGIONS = tuple(f"KZ-{n}" for n in (10, 11, 15, 19, 23, 27, 31, 33, 35, 39, 43, 47, 55, 59, 61, 62, 63, 71, 75, 79))
# Country, UTC offset, the language spoken there besides kk/ru/en (or "").
COUNTRIES = (
    ("DEU", 1.0, "de"),
    ("USA", -5.0, ""),
    ("USA", -8.0, ""),
    ("GBR", 0.0, ""),
    ("RUS", 3.0, ""),
    ("TUR", 3.0, "tr"),
    ("CHN", 8.0, "zh"),
    ("KOR", 9.0, ""),
    ("JPN", 9.0, ""),
    ("CAN", -5.0, "fr"),
    ("FRA", 1.0, "fr"),
    ("NLD", 1.0, ""),
    ("CZE", 1.0, ""),
    ("ARE", 4.0, ""),
    ("SGP", 8.0, "zh"),
    ("KAZ", 5.0, ""),
)

FIELD_CODES = tuple(FIELDS)
_LANGUAGE_COLUMN = {"en": 1, "ru": 2, "kk": 3}
SKILL_PHRASES: dict[str, tuple[str, str, str]] = {
    slug: (en, ru, kk) for rows in FIELDS.values() for slug, en, ru, kk in rows
}
SKILL_FIELD = {slug: code for code, rows in FIELDS.items() for slug, *_ in rows}


def population(
    n_experts: int, n_requests: int, *, seed: int = 0, planted: bool = True
) -> tuple[list[ExpertRow], list[RequestRow], dict[int, int]]:
    """`n_experts` experts, `n_requests` requests and request id -> planted best person id."""
    rng = random.Random(seed)
    institutions = [(1000 + i, rng.choice(REGIONS), rng.choice(FIELD_CODES)) for i in range(300)]
    experts = [_expert(rng, 100_000 + i, institutions) for i in range(n_experts)]
    picks = rng.sample(range(n_experts), min(n_requests, n_experts)) if planted and n_experts else []
    requests, truth = [], {}
    for i in range(n_requests):
        request_id = 500_000 + i
        if i < len(picks):
            expert = experts[picks[i]]
            language = rng.choice([lang for lang in expert.languages if lang in TEXT_LANGUAGES])
            # Its bio is (re)written in the request's language, in other words than the request's.
            bio = _bio(rng, language, list(expert.skills))
            expert = experts[picks[i]] = dataclasses.replace(expert, stale=False, text=bio)
            requests.append(_planted_request(rng, request_id, expert, experts, institutions, language))
            truth[request_id] = expert.person_id
        else:
            requests.append(_random_request(rng, request_id, institutions))
    return experts, requests, truth


def _expert(rng: random.Random, person_id: int, institutions: list) -> ExpertRow:
    field = rng.choice(FIELD_CODES)
    own = [slug for slug, *_ in FIELDS[field]]
    skills = rng.sample(own, rng.randint(2, 4))
    if rng.random() < 0.5:  # interdisciplinary: one or two skills from other fields
        other = rng.sample(FIELD_CODES, 2)
        skills += [rng.choice(FIELDS[code])[0] for code in other[: rng.randint(1, 2)] if code != field]
    country, utc_offset, local = rng.choice(COUNTRIES)
    languages = {language for language, p in (("ru", 0.8), ("kk", 0.5), ("en", 0.7)) if rng.random() < p}
    if local and rng.random() < 0.7:
        languages.add(local)
    if rng.random() < 0.05:
        languages.add(rng.choice(LANGUAGES))
    if not languages & set(TEXT_LANGUAGES):
        languages.add(rng.choice(TEXT_LANGUAGES))
    n_offers = rng.choices((1, 2, 3), weights=(0.35, 0.4, 0.25))[0]
    offers = tuple(_offer(rng, person_id * 10 + j, mode) for j, mode in enumerate(rng.sample(MODES, n_offers)))
    text_language = rng.choice([lang for lang in TEXT_LANGUAGES if lang in languages] or ["en"])
    return ExpertRow(
        person_id=person_id,
        field=field,
        occupation=rng.choice("1234"),
        skills=tuple(skills),
        tags=(),
        languages=tuple(sorted(languages)),
        country=country,
        home_region=rng.choice(REGIONS) if rng.random() < 0.85 else "",
        utc_offset=utc_offset,
        text=_bio(rng, text_language, skills),
        stale=rng.random() < 0.1,
        institution_ids=tuple(rng.choice(institutions)[0] for _ in range(rng.choice((0, 0, 1, 2)))),
        offers=offers,
    )


def _offer(rng: random.Random, offer_id: int, mode: str) -> OfferRow:
    hourly = mode in HOURLY_MODES and rng.random() < 0.6
    remote = rng.random() < 0.8
    onsite = not remote or rng.random() < 0.4
    return OfferRow(
        offer_id=offer_id,
        mode=mode,
        remaining=rng.randint(4, 40) if hourly else rng.randint(1, 6),
        unit="hours" if hourly else "engagements",
        remote=remote,
        onsite=onsite,
    )


def _phrase(slug: str, language: str) -> str:
    return SKILL_PHRASES[slug][_LANGUAGE_COLUMN[language] - 1]


def _bio(rng: random.Random, language: str, skills: list[str]) -> str:
    phrases = [_phrase(slug, language) for slug in skills]
    rng.shuffle(phrases)
    a, b, c = phrases[0], ", ".join(phrases[1:2]) or phrases[0], ", ".join(phrases[2:]) or "консультации"
    bio = rng.choice(BIO[language]).format(
        title=rng.choice(TITLES[language]), city=rng.choice(CITIES), years=rng.randint(3, 25), a=a, b=b, c=c
    )
    labels = ", ".join(slug.replace("-", " ") for slug in skills)
    return f"{bio} Skills: {labels}."


def _planted_request(
    rng: random.Random, request_id: int, expert: ExpertRow, experts: list[ExpertRow], institutions: list, language: str
) -> RequestRow:
    offer = rng.choice(expert.offers)
    own = [slug for slug in expert.skills if SKILL_FIELD[slug] == expert.field]
    skills = rng.sample(own, min(len(own), rng.randint(2, 3)))
    skills += [slug for slug in expert.skills if SKILL_FIELD[slug] != expert.field][:1]
    spoken = [lang for lang in expert.languages if lang in TEXT_LANGUAGES]
    languages = {language} | set(rng.sample(spoken, min(len(spoken), rng.choice((0, 0, 1)))))
    institution, region, _ = rng.choice([i for i in institutions if i[0] not in expert.institution_ids])
    region = expert.home_region or region
    formats = (["remote"] if offer.remote else []) + (["onsite"] if offer.onsite else []) + ["either"]
    hours = rng.randint(2, min(8, offer.remaining)) if offer.unit == "hours" else rng.randint(2, 8)
    others = [e.person_id for e in rng.sample(experts, min(3, len(experts))) if e.person_id != expert.person_id]
    return RequestRow(
        request_id=request_id,
        institution_id=institution,
        mode=offer.mode,
        field=expert.field,
        skills=tuple(skills),
        languages=tuple(sorted(languages)),
        region=region,
        utc_offset=5.0,
        format=rng.choice(formats),
        text=_request_text(rng, language, offer.mode, skills),
        slots=rng.choices((1, 2, 3), weights=(0.6, 0.3, 0.1))[0],
        hours_per_expert=hours,
        excluded_person_ids=frozenset(others[: rng.choice((0, 0, 0, 1, 2))]),
        weights=_weights(rng),
    )


def _random_request(rng: random.Random, request_id: int, institutions: list) -> RequestRow:
    institution, region, field = rng.choice(institutions)
    skills = rng.sample([slug for slug, *_ in FIELDS[field]], 2)
    language = rng.choice(TEXT_LANGUAGES)
    mode = rng.choice(MODES)
    return RequestRow(
        request_id=request_id,
        institution_id=institution,
        mode=mode,
        field=field,
        skills=tuple(skills),
        languages=(language,),
        region=region,
        utc_offset=5.0,
        format=rng.choice(("remote", "onsite", "either")),
        text=_request_text(rng, language, mode, skills),
        slots=rng.randint(1, 3),
        hours_per_expert=rng.randint(2, 8),
    )


def _request_text(rng: random.Random, language: str, mode: str, skills: list[str]) -> str:
    topic = ", ".join(_phrase(slug, language) for slug in skills)
    return rng.choice(REQUEST[language]).format(mode=MODE_LABEL[language][mode], a=topic)


def _weights(rng: random.Random) -> dict[str, float]:
    if rng.random() < 0.9:
        return dict(DEFAULT_WEIGHTS)
    weights = dict(DEFAULT_WEIGHTS)
    weights[rng.choice(list(weights))] *= 2  # an institution that cares more about one criterion
    return weights


# --------------------------------------------------------------------------- across languages

GROUP_SIZE = 8  # experts tied on every structured field, of whom one writes about the request's topic


def cross_language_population(
    n_requests: int, *, seed: int = 0, same_language: bool = False, n_background: int = 2000
) -> tuple[list[ExpertRow], list[RequestRow], dict[int, int]]:
    """Requests whose planted expert ties with GROUP_SIZE - 1 others on every structured field
    (skills, field, languages, region, time zone, offer, freshness), so that only the texts tell
    them apart: the planted bio is about the request's topic, the others about other topics of
    the same field (at least one in the request's language). Request and bio are written apart,
    each directly in its language (synthetic_topics): in different languages, or with
    `same_language` in the same one. A background registry of `n_background` experts surrounds
    the groups. Returns (experts, requests, request id -> planted person id)."""
    from .synthetic_topics import TOPICS

    rng = random.Random(seed)
    background, _, _ = population(n_background, 0, seed=seed + 1, planted=False)
    by_field: dict[str, list[dict[str, str]]] = {}
    for topic in TOPICS:
        by_field.setdefault(topic["field"], []).append(topic)
    fields = sorted(code for code, topics in by_field.items() if len(topics) >= 3)
    experts, requests, truth = list(background), [], {}
    ids = rng.sample(range(200_000, 200_000 + n_requests * GROUP_SIZE * 2), n_requests * GROUP_SIZE)
    for i in range(n_requests):
        field = rng.choice(fields)
        topic, *others = rng.sample(by_field[field], len(by_field[field]))
        request_language = rng.choice(TEXT_LANGUAGES)
        bio_language = (
            request_language if same_language else rng.choice([x for x in TEXT_LANGUAGES if x != request_language])
        )
        skills = tuple(rng.sample([slug for slug, *_ in FIELDS.get(field, FIELDS[FIELD_CODES[0]])], 2))
        country, utc_offset, _ = rng.choice(COUNTRIES)
        region, mode = rng.choice(REGIONS), rng.choice(MODES)
        group_ids = ids[i * GROUP_SIZE : (i + 1) * GROUP_SIZE]
        for j, person_id in enumerate(group_ids):
            if j == 0:
                text = topic[f"bio_{bio_language}"]
            else:  # another topic of the field; the first of them in the request's language
                language = request_language if j == 1 else rng.choice(TEXT_LANGUAGES)
                text = others[(j - 1) % len(others)][f"bio_{language}"]
            offer = OfferRow(person_id * 10, mode, 5, "engagements", True, True)
            experts.append(
                ExpertRow(
                    person_id=person_id, field=field, occupation="2", skills=skills, tags=(),
                    languages=TEXT_LANGUAGES, country=country, home_region=region, utc_offset=utc_offset,
                    text=text, stale=False, institution_ids=(), offers=(offer,),
                )
            )  # fmt: skip
        request_id = 700_000 + i
        requests.append(
            RequestRow(
                request_id=request_id, institution_id=1, mode=mode, field=field, skills=skills, languages=(),
                region=region, utc_offset=5.0, format="either", text=topic[f"req_{request_language}"], slots=1,
                hours_per_expert=2,
            )
        )  # fmt: skip
        truth[request_id] = group_ids[0]
    return experts, requests, truth
