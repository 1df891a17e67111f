"""The registry: people, what they offer, what they agreed to and who may see what."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    MENTORING = "mentoring", _("Mentoring")
    GUEST_LECTURE = "guest_lecture", _("Guest lecture")
    JOINT_RESEARCH = "joint_research", _("Joint research")
    CO_SUPERVISION = "co_supervision", _("Co-supervision")
    CONSULTING = "consulting", _("Consulting")
    INVESTMENT = "investment", _("Investment")
    INTERNSHIP_HOSTING = "internship_hosting", _("Internship hosting")
    SHORT_VISIT = "short_visit", _("Short visit")
    RETURN = "return", _("Return")


class Visibility(models.TextChoices):
    """Who may see a group of a profile's fields. Ordered: each level admits fewer viewers."""

    PUBLIC = "public", _("Everyone signed in")
    INSTITUTIONS = "institutions", _("Home institutions and administrators")
    ADMINISTRATORS = "administrators", _("Programme administrators only")
    HIDDEN = "hidden", _("Only me")


VISIBILITY_ORDER = [Visibility.PUBLIC, Visibility.INSTITUTIONS, Visibility.ADMINISTRATORS, Visibility.HIDDEN]

# The field groups a person sets visibility for, and the fields in each. `profile` also
# decides whether the person is listed at all (directory, search, matching, API, exports).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "profile": ("display_name", "bio", "occupation", "programmes"),
    "expertise": ("field_of_study", "skills", "tags", "languages", "offers"),
    "location": ("country", "city", "timezone", "departure_year", "home_region"),
    "contact": ("messages",),
}
# Conservative defaults: listed for institutions, where someone lives for administrators,
# and being written to only by administrators until the person opens it up.
DEFAULT_VISIBILITY: dict[str, str] = {
    "profile": Visibility.INSTITUTIONS,
    "expertise": Visibility.INSTITUTIONS,
    "location": Visibility.ADMINISTRATORS,
    "contact": Visibility.ADMINISTRATORS,
}


class Person(models.Model):
    """A diaspora professional or returnee in the registry."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        DIRECT = "direct", _("Signed up directly")
        SURVEY = "survey", _("Signed up from a survey")
        ADMIN = "admin", _("Added by an administrator")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person")
    display_name = models.CharField(max_length=120)
    bio = models.TextField(max_length=1500, blank=True)
    field_of_study = models.CharField(max_length=3, blank=True, help_text="ISCED-F 2013 narrow field")
    occupation = models.CharField(max_length=1, blank=True, help_text="ISCO-08 major group")
    skills = models.JSONField(default=list, blank=True, help_text="Slugs of the curated skills vocabulary")
    tags = models.JSONField(default=list, blank=True, help_text="Free tags")
    languages = models.JSONField(default=list, blank=True, help_text="ISO 639-1 codes")
    country = models.CharField(max_length=3, blank=True, help_text="ISO 3166-1 alpha-3 of residence")
    city = models.CharField(max_length=120, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    home_region = models.CharField(max_length=6, blank=True, help_text="ISO 3166-2:KZ region of ties")
    departure_year = models.PositiveSmallIntegerField(null=True, blank=True)
    programmes = models.ManyToManyField("accounts.Programme", blank=True, related_name="people")
    affiliations = models.ManyToManyField(
        "diaspora.Institution", blank=True, related_name="affiliated_people", help_text="Conflicts of interest"
    )
    profile_visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=DEFAULT_VISIBILITY["profile"]
    )
    expertise_visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=DEFAULT_VISIBILITY["expertise"]
    )
    location_visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=DEFAULT_VISIBILITY["location"]
    )
    contact_visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=DEFAULT_VISIBILITY["contact"]
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.DIRECT)
    source_response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_confirmed_at = models.DateTimeField()
    stale_warned_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When anything the matching index reads of this person last changed (profile, offers,
    # consents, status): processes rank people changed since their index was built from fresh rows.
    matching_changed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(fields=["status", "profile_visibility"], name="person_listing"),
            models.Index(fields=["last_confirmed_at"], name="person_confirmed"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def visibility_of(self, group: str) -> str:
        return getattr(self, f"{group}_visibility")


class Offer(models.Model):
    """One kind of engagement a person offers, with how much of it per quarter."""

    class Unit(models.TextChoices):
        ENGAGEMENTS = "engagements", _("engagements per quarter")
        HOURS = "hours", _("hours per quarter")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="offers")
    mode = models.CharField(max_length=24, choices=Mode.choices)
    capacity = models.PositiveSmallIntegerField()
    unit = models.CharField(max_length=12, choices=Unit.choices, default=Unit.ENGAGEMENTS)
    remote = models.BooleanField(default=True)
    onsite = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["person", "mode"]
        constraints = [
            models.UniqueConstraint(fields=["person", "mode"], name="offer_one_per_mode"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="offer_capacity_positive"),
            models.CheckConstraint(condition=models.Q(remote=True) | models.Q(onsite=True), name="offer_has_format"),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.mode}"


class Consent(models.Model):
    """What a person agreed to, under which wording, and whether they took it back."""

    class Purpose(models.TextChoices):
        REGISTRY = "registry", _("Be listed in the registry")
        MATCHING = "matching", _("Receive proposals from home institutions")
        MESSAGES = "messages", _("Receive messages relayed by the platform")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    text_version = models.CharField(max_length=32)
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True, help_text="Where it was given: a form, a survey response")

    class Meta:
        ordering = ["person", "purpose", "-given_at"]
        constraints = [
            # One live consent per purpose; a withdrawn one stays as the record of what was agreed.
            models.UniqueConstraint(
                fields=["person", "purpose"], condition=models.Q(withdrawn_at__isnull=True), name="consent_one_live"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.purpose} ({self.text_version})"
