"""Joining, editing, confirming and leaving the registry; consents and visibility."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pycountry
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Programme, User
from surveys.services.respondent import RegistrySource, respondent_link_user

from .. import vocabularies as vocab
from ..consents import current_version
from ..models import Consent, Mode, Offer, Person, Visibility

MAX_OFFER_CAPACITY = {Offer.Unit.ENGAGEMENTS: 50, Offer.Unit.HOURS: 500}


class RegistryInvalid(Exception):
    """Bad profile input: `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def index_changed(person_id: int) -> None:
    """Mark a person whose profile, offers, consents or status changed: every process's matching
    index ranks them from fresh rows until its next rebuild (services.matching.rank_current)."""
    Person.objects.filter(pk=person_id).update(matching_changed_at=timezone.now())


@dataclass
class OfferInput:
    mode: str
    capacity: int
    unit: str = Offer.Unit.ENGAGEMENTS
    remote: bool = True
    onsite: bool = False
    note: str = ""


@dataclass
class ProfileInput:
    display_name: str
    bio: str = ""
    field_of_study: str = ""
    occupation: str = ""
    skills: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    country: str = ""
    city: str = ""
    timezone: str = ""
    home_region: str = ""
    departure_year: int | None = None
    programmes: list[str] = field(default_factory=list)
    offers: list[OfferInput] = field(default_factory=list)
    visibility: dict[str, str] = field(default_factory=dict)


def profile_clean(data: ProfileInput) -> dict[str, Any]:
    """Checked, normalised profile fields, or RegistryInvalid naming every bad field."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}

    def check(name: str, fn, value):
        try:
            cleaned[name] = fn(value)
        except ValueError as exc:
            errors[name] = str(exc)

    check("display_name", _name, data.display_name)
    check("bio", lambda v: _text(v, 1500, "The bio"), data.bio)
    check("field_of_study", lambda v: _optional(v, vocab.check_field_or_broad), data.field_of_study)
    check("occupation", lambda v: _optional(v, vocab.check_occupation), data.occupation)
    check("skills", lambda v: list(vocab.check_skills(v)), data.skills)
    check("tags", _tags, data.tags)
    check("languages", lambda v: list(vocab.check_languages(v)), data.languages)
    check("country", _country, data.country)
    check("city", lambda v: _text(v, 120, "The city"), data.city)
    check("home_region", lambda v: _optional(v, vocab.check_region), data.home_region)
    check("departure_year", _year, data.departure_year)
    check("programmes", _programmes, data.programmes)
    check("offers", _offers, data.offers)
    check("visibility", _visibility, data.visibility)
    if "country" in cleaned:
        check("timezone", lambda v: _timezone(v, cleaned["country"]), data.timezone)
    if errors:
        raise RegistryInvalid(errors)
    return cleaned


def _name(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError("A display name is needed.")
    if len(value) > 120:
        raise ValueError("The display name is longer than 120 characters.")
    return value


def _text(value: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters.")
    return value


def _optional(value: str, check) -> str:
    value = (value or "").strip()
    return check(value) if value else ""


def _tags(values: Iterable[str]) -> list[str]:
    tags = list(dict.fromkeys(t.strip().lower() for t in values if t and t.strip()))
    if len(tags) > 20:
        raise ValueError("At most 20 tags.")
    too_long = [t for t in tags if len(t) > 40]
    if too_long:
        raise ValueError(f"Tags are at most 40 characters: {too_long[0]!r} is longer.")
    return tags


def _country(value: str) -> str:
    from surveys.countries import country_codes

    raw = (value or "").strip()
    code = raw.upper()
    if code and code not in country_codes():
        hint = ""
        with contextlib.suppress(LookupError):
            hint = f" (did you mean {pycountry.countries.lookup(raw).alpha_3}?)"
        raise ValueError(f"{raw!r} is not an ISO 3166-1 alpha-3 country code{hint}; for example DEU, USA, KAZ.")
    return code


def _timezone(value: str, country: str) -> str:
    value = (value or "").strip() or vocab.default_timezone(country)
    vocab.utc_offset(value)  # raises ValueError naming a bad zone
    return value


def _year(value: int | None) -> int | None:
    if value in (None, ""):
        return None
    year = int(value)
    if not 1950 <= year <= timezone.now().year:
        raise ValueError(f"The year of departure must be between 1950 and {timezone.now().year}.")
    return year


def _programmes(slugs: Iterable[str]) -> list[Programme]:
    slugs = list(dict.fromkeys(s for s in slugs if s))
    found = list(Programme.objects.filter(slug__in=slugs))
    unknown = sorted(set(slugs) - {p.slug for p in found})
    if unknown:
        raise ValueError(f"Unknown programme: {', '.join(unknown)}.")
    return found


def _offers(offers: Iterable[OfferInput]) -> list[OfferInput]:
    offers = list(offers)
    seen: set[str] = set()
    for offer in offers:
        if offer.mode not in Mode.values:
            raise ValueError(f"{offer.mode!r} is not a kind of engagement; choose from {', '.join(Mode.values)}.")
        if offer.mode in seen:
            raise ValueError(f"{Mode(offer.mode).label} is offered twice; give it once with its total capacity.")
        seen.add(offer.mode)
        if offer.unit not in Offer.Unit.values:
            raise ValueError(f"Capacity is counted in engagements or hours, not {offer.unit!r}.")
        limit = MAX_OFFER_CAPACITY[offer.unit]
        if not isinstance(offer.capacity, int) or not 1 <= offer.capacity <= limit:
            raise ValueError(f"{Mode(offer.mode).label}: capacity must be a whole number from 1 to {limit}.")
        if not (offer.remote or offer.onsite):
            raise ValueError(f"{Mode(offer.mode).label}: say whether you can do it remotely, on site or both.")
        if len(offer.note or "") > 300:
            raise ValueError(f"{Mode(offer.mode).label}: the note is longer than 300 characters.")
    return offers


def _visibility(values: dict[str, str]) -> dict[str, str]:
    groups = ("profile", "expertise", "location", "contact")
    unknown = sorted(set(values) - set(groups))
    if unknown:
        raise ValueError(f"Unknown field group: {', '.join(unknown)} (groups: {', '.join(groups)}).")
    bad = {g: v for g, v in values.items() if v not in Visibility.values}
    if bad:
        group, level = next(iter(bad.items()))
        raise ValueError(f"{group}: {level!r} is not a visibility level ({', '.join(Visibility.values)}).")
    return dict(values)


@transaction.atomic
def person_register(
    *,
    user: User,
    data: ProfileInput,
    consents: Iterable[str],
    source: str = Person.Source.DIRECT,
    source_response_id: int | None = None,
) -> Person:
    """A new registry entry with its offers and the consents given on the sign-up form.

    The registry consent is what listing rests on, so joining without it is refused."""
    consents = set(consents)
    if Consent.Purpose.REGISTRY not in consents:
        raise RegistryInvalid({"consents": "Joining the registry needs your consent to be listed."})
    unknown = consents - set(Consent.Purpose.values)
    if unknown:
        raise RegistryInvalid({"consents": f"Unknown consent: {', '.join(sorted(unknown))}."})
    cleaned = profile_clean(data)
    if Person.objects.filter(user=user).exists():
        raise RegistryInvalid({"user": "This account already has a registry profile; edit it instead."})
    now = timezone.now()
    person = Person(user=user, source=source, source_response_id=source_response_id, last_confirmed_at=now)
    _apply(person, cleaned)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:  # a second tab's sign-up got there first
        raise RegistryInvalid({"user": "This account already has a registry profile; edit it instead."}) from exc
    _save_relations(person, cleaned)
    for purpose in consents:
        consent_give(person=person, purpose=purpose, source=source)
    if source_response_id is not None:
        respondent_link_user(response_id=source_response_id, user_id=user.pk)
    index_changed(person.pk)
    return person


@transaction.atomic
def person_update(*, person: Person, data: ProfileInput) -> Person:
    cleaned = profile_clean(data)
    _apply(person, cleaned)
    person.last_active_at = timezone.now()
    person.save()
    _save_relations(person, cleaned)
    if not _shown_to_institutions(person):
        from .lifecycle import matches_withdraw_pending

        matches_withdraw_pending(person=person, reason="profile hidden from institutions")
    index_changed(person.pk)
    return person


def _shown_to_institutions(person: Person) -> bool:
    shown = (Visibility.PUBLIC, Visibility.INSTITUTIONS)
    return person.profile_visibility in shown and person.expertise_visibility in shown


def _apply(person: Person, cleaned: dict[str, Any]) -> None:
    for name in (
        "display_name", "bio", "field_of_study", "occupation", "skills", "tags", "languages",
        "country", "city", "timezone", "home_region", "departure_year",
    ):  # fmt: skip
        setattr(person, name, cleaned[name])
    for group, level in cleaned["visibility"].items():
        setattr(person, f"{group}_visibility", level)


def _save_relations(person: Person, cleaned: dict[str, Any]) -> None:
    person.programmes.set(cleaned["programmes"])
    offers: list[OfferInput] = cleaned["offers"]
    person.offers.exclude(mode__in=[o.mode for o in offers]).delete()
    for offer in offers:
        Offer.objects.update_or_create(
            person=person,
            mode=offer.mode,
            defaults={
                "capacity": offer.capacity,
                "unit": offer.unit,
                "remote": offer.remote,
                "onsite": offer.onsite,
                "note": offer.note,
            },
        )


def consent_give(*, person: Person, purpose: str, source: str = "") -> Consent:
    """Record a consent under the current wording (a no-op if one is already live)."""
    live = person.consents.filter(purpose=purpose, withdrawn_at__isnull=True).first()
    if live is not None:
        return live
    try:
        with transaction.atomic():
            consent = Consent.objects.create(
                person=person,
                purpose=purpose,
                text_version=current_version(purpose),
                given_at=timezone.now(),
                source=source,
            )
    except IntegrityError:  # given twice at once: the partial unique index kept one
        return person.consents.get(purpose=purpose, withdrawn_at__isnull=True)
    index_changed(person.pk)
    return consent


def consent_withdraw(*, person: Person, purpose: str) -> int:
    """Withdraw a live consent; works whatever state the profile is in. Withdrawing the
    matching consent also withdraws the proposals and offers still waiting for an answer."""
    from .lifecycle import matches_withdraw_pending

    count = person.consents.filter(purpose=purpose, withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
    if purpose in (Consent.Purpose.REGISTRY, Consent.Purpose.MATCHING):
        matches_withdraw_pending(person=person, reason="consent withdrawn")
    index_changed(person.pk)
    return count


def person_confirm(*, person: Person) -> Person:
    """The yearly "still correct?" click: fresh again, the warning cleared."""
    now = timezone.now()
    Person.objects.filter(pk=person.pk).update(last_confirmed_at=now, stale_warned_at=None, last_active_at=now)
    person.last_confirmed_at, person.stale_warned_at, person.last_active_at = now, None, now
    index_changed(person.pk)
    return person


def person_set_status(*, person: Person, status: str) -> Person:
    """Pause (not listed, not matched, nothing lost), resume, or close (as pause, and the
    consents are withdrawn)."""
    if status not in Person.Status.values:
        raise RegistryInvalid({"status": f"{status!r} is not a profile status ({', '.join(Person.Status.values)})."})
    Person.objects.filter(pk=person.pk).update(status=status)
    person.status = status
    if status == Person.Status.CLOSED:
        for purpose in Consent.Purpose.values:
            consent_withdraw(person=person, purpose=purpose)
    elif status == Person.Status.PAUSED:
        from .lifecycle import matches_withdraw_pending

        matches_withdraw_pending(person=person, reason="profile paused")
    index_changed(person.pk)
    return person


@dataclass
class StaleResult:
    warned: int = 0
    hidden: int = 0


def people_warn_stale(*, now=None) -> StaleResult:
    """Warn, once, everyone whose profile went a year without confirmation (idempotent:
    the warning is claimed with a conditional UPDATE and mailed after the claim)."""
    from .messages import notification_send

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REGISTRY_CONFIRM_DAYS)
    result = StaleResult()
    due = Person.objects.filter(status=Person.Status.ACTIVE, last_confirmed_at__lt=cutoff, stale_warned_at__isnull=True)
    for person_id in due.values_list("pk", flat=True).iterator():
        if not Person.objects.filter(pk=person_id, stale_warned_at__isnull=True).update(stale_warned_at=now):
            continue  # another worker warned them
        person = Person.objects.select_related("user").get(pk=person_id)
        notification_send(user=person.user, kind="stale_warning", context={"days": settings.REGISTRY_STALE_GRACE_DAYS})
        result.warned += 1
    grace = timedelta(days=settings.REGISTRY_STALE_GRACE_DAYS)
    hidden = Person.objects.filter(status=Person.Status.ACTIVE, stale_warned_at__lte=now - grace)
    result.hidden = hidden.count()
    # Hidden since the grace period ran out, and not yet marked since: the matching indexes rank
    # them from fresh rows (where they are no longer matchable) until their next rebuild.
    hidden.filter(Q(matching_changed_at__isnull=True) | Q(matching_changed_at__lt=F("stale_warned_at") + grace)).update(
        matching_changed_at=now
    )
    return result


# --- sign-up from a survey ---------------------------------------------------------------------

_LANGUAGE_ANSWERS = {
    "kazakh": "kk", "russian": "ru", "english": "en", "german": "de", "chinese": "zh", "turkish": "tr", "french": "fr",
}  # fmt: skip


def profile_prefill(source: RegistrySource) -> dict[str, Any]:
    """Initial profile values from a completed survey response (the person reviews them)."""
    answers = source.answers
    field_answer = str(answers.get("field_of_study") or "")  # "f06_ict": an ISCED-F broad field
    occupation = str(answers.get("occupation") or "")  # "isco_2_professionals"
    programme = str(answers.get("programme") or "")
    hours = answers.get("engagement_hours")
    offers = [
        OfferInput(mode=mode, capacity=max(1, min(int(hours), 500)), unit=Offer.Unit.HOURS)
        if isinstance(hours, int) and hours > 0
        else OfferInput(mode=mode, capacity=1)
        for mode in answers.get("engagement_modes") or []
        if mode in Mode.values
    ]
    return {
        "display_name": source.name,
        "country": str(answers.get("country_residence") or ""),
        "city": str(answers.get("city_residence") or ""),
        "field_of_study": field_answer[1:3] if field_answer[:1] == "f" and field_answer[1:3].isdigit() else "",
        "occupation": occupation[5] if occupation.startswith("isco_") and occupation[5:6].isdigit() else "",
        "departure_year": answers.get("departure_year") if isinstance(answers.get("departure_year"), int) else None,
        "languages": [_LANGUAGE_ANSWERS[a] for a in answers.get("languages_spoken") or [] if a in _LANGUAGE_ANSWERS],
        "programmes": [p for p in [programme.replace("_", "-")] if Programme.objects.filter(slug=p).exists()],
        "offers": offers,
        "consent_contact": answers.get("consent_contact") == "yes",
    }
