"""Plain data the matching engine takes and returns (built by diaspora.selectors_matching)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Named score components, in the order explanations list them.
COMPONENTS = ("skills", "field", "text", "language", "region", "timezone")

# Covering the requested skills matters most, then what the texts are about; where the expert
# lives and works weighs least (an expert missing a requested skill with the institution's region
# and time zone used to outrank one with all of them). With `skills_first` (the default) experts
# covering every requested skill rank above all others whatever the weights.
DEFAULT_WEIGHTS: dict[str, float] = {
    "skills": 0.35,
    "field": 0.15,
    "text": 0.30,
    "language": 0.10,
    "region": 0.05,
    "timezone": 0.05,
}
# The components computed from a person's location field group (home region, time zone): shown
# only to viewers who may see that group.
LOCATION_COMPONENTS = frozenset({"region", "timezone"})

# A profile not confirmed for a year still matches, but ranks lower (its score is multiplied by this).
STALE_FACTOR = 0.8
# An optional sentence-embedding backend may add at most this much to a score.
EMBEDDING_BONUS_CAP = 0.1


@dataclass(frozen=True)
class OfferRow:
    offer_id: int
    mode: str  # diaspora.models.Mode value: "mentoring", "guest_lecture", ...
    remaining: int  # capacity left this quarter, in `unit`
    unit: str  # "engagements" or "hours"
    remote: bool
    onsite: bool


@dataclass(frozen=True)
class ExpertRow:
    person_id: int
    field: str  # ISCED-F 2013 narrow field code ("053"), or ""
    occupation: str  # ISCO-08 major group ("2"), or ""
    skills: tuple[str, ...]  # curated vocabulary slugs
    tags: tuple[str, ...]  # free tags
    languages: tuple[str, ...]  # ISO 639-1
    country: str  # ISO 3166-1 alpha-3
    home_region: str  # ISO 3166-2:KZ code the person has ties to ("KZ-55"), or ""
    # hours, at the time of matching; None when unknown or kept from institutions (no overlap)
    utc_offset: float | None
    text: str  # bio, tags, skill and field labels: what the TF-IDF side sees
    stale: bool  # not confirmed for a year: ranks lower
    institution_ids: tuple[int, ...]  # affiliations: a conflict of interest with their requests
    offers: tuple[OfferRow, ...]


@dataclass(frozen=True)
class RequestRow:
    request_id: int
    institution_id: int
    mode: str
    field: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]  # the expert must speak at least one of these (empty: any)
    region: str  # ISO 3166-2:KZ
    utc_offset: float
    format: str  # "remote", "onsite" or "either"
    text: str  # title and topic
    slots: int  # experts still needed
    hours_per_expert: int  # what one engagement costs an hour-based offer
    excluded_person_ids: frozenset[int] = frozenset()  # already proposed, declined or expired
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # Experts who cover every requested skill first, then by score (a programme may turn it off).
    skills_first: bool = True


@dataclass(frozen=True)
class Candidate:
    request_id: int
    person_id: int
    offer_id: int
    score: float
    components: dict[str, float]  # each in [0, 1], before weighting
    shared_skills: tuple[str, ...]
    shared_languages: tuple[str, ...]
    remaining_after: int  # capacity the offer would have left after this engagement
    unit: str
    remote: bool
    onsite: bool
    stale: bool
    embedding_bonus: float = 0.0
    shared_topics: tuple[str, ...] = ()  # concept keys both texts name ("topic:speech-recognition")
    covers_all_skills: bool = False  # has every requested skill (the request asked for some)


@dataclass(frozen=True)
class FilterStep:
    """One hard filter and how many experts were still in after it (for "why nobody matches")."""

    name: str  # "eligible", "mode", "language", "format", "capacity", "conflict", "already_asked"
    remaining: int


@dataclass
class RankResult:
    request_id: int
    candidates: list[Candidate]  # best first
    steps: list[FilterStep]


@dataclass
class BatchResult:
    assigned: list[Candidate]  # the global assignment: proposals to create
    unmatched: dict[int, list[FilterStep]]  # request id -> filter trail, for requests left short
    stats: dict[str, float] = field(default_factory=dict)  # counts and per-stage seconds
