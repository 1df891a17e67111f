"""Home institutions and their expertise requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from accounts.models import Programme, User

from .. import vocabularies as vocab
from ..models import ExpertiseRequest, Institution, Mode
from .registry import RegistryInvalid


@dataclass
class RequestInput:
    institution_id: int
    title: str
    topic: str
    mode: str
    field_of_study: str = ""
    skills: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    region: str = ""
    format: str = ExpertiseRequest.Format.EITHER
    starts_on: date | None = None
    ends_on: date | None = None
    experts_needed: int = 1
    hours_per_expert: int = 8
    programme: str = ""


def request_clean(*, user: User, data: RequestInput) -> dict:
    """Checked request fields, or RegistryInvalid naming every bad field."""
    from ..selectors import institutions_of

    errors: dict[str, str] = {}
    cleaned: dict = {}
    institution = institutions_of(user).filter(pk=data.institution_id).first()
    if institution is None:
        errors["institution"] = "You can post requests only for an institution you belong to."
    cleaned["institution"] = institution
    title, topic = (data.title or "").strip(), (data.topic or "").strip()
    if not title or len(title) > 200:
        errors["title"] = "A title of 1 to 200 characters is needed."
    if len(topic) < 20 or len(topic) > 4000:
        errors["topic"] = "Describe what you need in 20 to 4,000 characters: matching reads this text."
    cleaned.update(title=title, topic=topic)
    if data.mode not in Mode.values:
        errors["mode"] = f"{data.mode!r} is not a kind of engagement; choose from {', '.join(Mode.values)}."
    cleaned["mode"] = data.mode
    for name, check in (
        ("field_of_study", lambda v: vocab.check_field_or_broad(v) if v else ""),
        ("skills", lambda v: list(vocab.check_skills(v))),
        ("languages", lambda v: list(vocab.check_languages(v))),
        ("region", lambda v: vocab.check_region(v) if v else ""),
    ):
        try:
            cleaned[name] = check(getattr(data, name))
        except ValueError as exc:
            errors[name] = str(exc)
    if data.format not in ExpertiseRequest.Format.values:
        errors["format"] = f"Format is one of {', '.join(ExpertiseRequest.Format.values)}."
    cleaned["format"] = data.format
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        errors["ends_on"] = "The end date is before the start date."
    cleaned.update(starts_on=data.starts_on, ends_on=data.ends_on)
    if not isinstance(data.experts_needed, int) or not 1 <= data.experts_needed <= 50:
        errors["experts_needed"] = "Ask for 1 to 50 experts."
    if not isinstance(data.hours_per_expert, int) or not 1 <= data.hours_per_expert <= 500:
        errors["hours_per_expert"] = "Hours per expert must be from 1 to 500."
    cleaned.update(experts_needed=data.experts_needed, hours_per_expert=data.hours_per_expert)
    programme = None
    if data.programme:
        # Only a programme the institution takes part in: a request cannot be put under
        # (or shown to the administrators of) any other.
        programme = Programme.objects.filter(slug=data.programme).first()
        if programme is None:
            errors["programme"] = f"Unknown programme {data.programme!r}."
        elif institution is not None and not institution.programmes.filter(pk=programme.pk).exists():
            errors["programme"] = f"{institution.name} does not take part in the programme {programme.name!r}."
    cleaned["programme"] = programme
    if not errors and not (cleaned["skills"] or cleaned["field_of_study"] or len(topic.split()) >= 3):
        errors["skills"] = "Name at least a skill or a field, or describe the topic in a few words."
    if errors:
        raise RegistryInvalid(errors)
    return cleaned


@transaction.atomic
def request_create(*, user: User, data: RequestInput) -> ExpertiseRequest:
    cleaned = request_clean(user=user, data=data)
    if not cleaned["region"]:
        cleaned["region"] = cleaned["institution"].region
    return ExpertiseRequest.objects.create(created_by=user, **cleaned)


@transaction.atomic
def request_update(*, request: ExpertiseRequest, user: User, data: RequestInput) -> ExpertiseRequest:
    """Only the staff of the requesting institution change a request (administrators oversee it)."""
    from ..selectors import institutions_of

    if not institutions_of(user).filter(pk=request.institution_id).exists():
        raise RegistryInvalid({"institution": "Only the staff of the requesting institution can change this request."})
    cleaned = request_clean(user=user, data=data)
    for name, value in cleaned.items():
        setattr(request, name, value)
    request.save()
    return request


def request_close(*, request: ExpertiseRequest) -> ExpertiseRequest:
    """Closed requests are matched no more; proposals not yet answered are withdrawn."""
    from ..models import Match

    ExpertiseRequest.objects.filter(pk=request.pk).update(status=ExpertiseRequest.Status.CLOSED)
    request.status = ExpertiseRequest.Status.CLOSED
    request.matches.filter(status__in=[Match.Status.PROPOSED, Match.Status.OFFERED]).update(
        status=Match.Status.WITHDRAWN, decline_reason="request closed"
    )
    return request


def institution_create(
    *, name: str, kind: str, region: str, city: str = "", staff: list[User] = (), programmes: list[Programme] = ()
) -> Institution:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "An institution needs a name."
    elif Institution.objects.filter(name=name).exists():
        errors["name"] = f"An institution named {name!r} exists already."
    if kind not in Institution.Kind.values:
        errors["kind"] = f"Kind is one of {', '.join(Institution.Kind.values)}."
    try:
        vocab.check_region(region)
    except ValueError as exc:
        errors["region"] = str(exc)
    if errors:
        raise RegistryInvalid(errors)
    institution = Institution.objects.create(name=name, kind=kind, region=region, city=city)
    institution.staff.set(staff)
    institution.programmes.set(programmes)
    return institution
