"""Input and output shapes of the registry API.

People are shown as `selectors.person_card` builds them (only the field groups the viewer
may see, and never an address); the card serializers here document that shape.
"""

from __future__ import annotations

from rest_framework import serializers

from accounts.names import shown_name
from surveys.countries import country_codes

from . import vocabularies as vocab
from .models import Consent, ExpertiseRequest, Match, MatchRun, Message, Mode, Offer, Person, Visibility
from .services.registry import OfferInput, ProfileInput
from .services.requests import RequestInput


class _Typed:
    """Refuses a JSON value of the wrong type: DRF itself reads 0 as "0", "5" as 5 and "yes" as
    true, which the schema does not allow (and the fuzzer checks that what it forbids is refused)."""

    json_types: tuple[type, ...] = ()

    def to_internal_value(self, data):
        if not isinstance(data, self.json_types) or (isinstance(data, bool) and bool not in self.json_types):
            self.fail("invalid")
        return super().to_internal_value(data)


class Text(_Typed, serializers.CharField):
    json_types = (str,)


class Slug(_Typed, serializers.SlugField):
    json_types = (str,)


class Integer(_Typed, serializers.IntegerField):
    json_types = (int,)


class Boolean(_Typed, serializers.BooleanField):
    json_types = (bool,)


def _choice(choices, what: str, **kwargs) -> serializers.ChoiceField:
    """A choice field whose error names the allowed values (DRF's own only says "not a valid choice")."""
    allowed = ", ".join(str(value) for value, _ in choices)
    message = f'"{{input}}" is not {what}; choose from {allowed}.'
    return serializers.ChoiceField(choices=choices, error_messages={"invalid_choice": message}, **kwargs)


def _checked(check, value: str) -> str:
    """Run a vocabulary check (which raises ValueError naming the value and what is allowed)."""
    try:
        return check(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


# --------------------------------------------------------------------------- people


class DirectoryInput(serializers.Serializer):
    """The directory's query parameters. An unknown code is a 400 naming it, never an empty list."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Words to find in names, bios, skills and tags."
    )
    field = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text="ISCED-F 2013 field: narrow ('061') or broad ('06')."
    )
    skill = serializers.CharField(
        required=False, allow_blank=True, max_length=80, help_text="A slug of the curated skill list."
    )
    country = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text="ISO 3166-1 alpha-3 country of residence."
    )
    language = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text="ISO 639-1 code.")
    mode = _choice(Mode.choices, "a kind of engagement", required=False, allow_blank=True)

    def validate_field(self, value: str) -> str:
        return _checked(vocab.check_field_or_broad, value) if value else ""

    def validate_skill(self, value: str) -> str:
        return _checked(lambda v: vocab.check_skills([v])[0], value) if value else ""

    def validate_language(self, value: str) -> str:
        return _checked(lambda v: vocab.check_languages([v])[0], value) if value else ""

    def validate_country(self, value: str) -> str:
        code = value.strip().upper()
        if code and code not in country_codes():
            raise serializers.ValidationError(
                f"{value!r} is not an ISO 3166-1 alpha-3 country code (for example DEU, USA, KAZ)."
            )
        return code


class OfferOutput(serializers.Serializer):
    mode = serializers.CharField()
    capacity = serializers.IntegerField()
    unit = serializers.CharField(help_text="engagements or hours (per quarter)")
    remote = serializers.BooleanField()
    onsite = serializers.BooleanField()
    note = serializers.CharField()


class PersonCardOutput(serializers.Serializer):
    """A person as the viewer may see them: groups hidden from the viewer are left out entirely."""

    id = serializers.IntegerField()
    stale = serializers.BooleanField(help_text="Not confirmed by its owner for over a year.")
    # profile group
    display_name = serializers.CharField(required=False)
    bio = serializers.CharField(required=False)
    occupation = serializers.CharField(required=False, help_text="ISCO-08 major group")
    programmes = serializers.ListField(child=serializers.CharField(), required=False)
    last_confirmed_at = serializers.DateTimeField(required=False)
    can_message = serializers.BooleanField(required=False, help_text="Whether you may write to this person.")
    # expertise group
    field_of_study = serializers.CharField(required=False)
    skills = serializers.ListField(child=serializers.CharField(), required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    languages = serializers.ListField(child=serializers.CharField(), required=False)
    offers = OfferOutput(many=True, required=False)
    # location group
    country = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    timezone = serializers.CharField(required=False)
    home_region = serializers.CharField(required=False)
    departure_year = serializers.IntegerField(required=False, allow_null=True)

    def to_representation(self, card: dict) -> dict:
        # The selector built the card for its viewer; passing it through field by field
        # would put a null in place of a hidden `departure_year` (an allow_null field).
        return dict(card)


class MessageInput(serializers.Serializer):
    subject = Text(max_length=200)
    body = Text(max_length=5000)


class MessageCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()


# --------------------------------------------------------------------------- the caller's own profile


class OfferIn(serializers.Serializer):
    mode = _choice(Mode.choices, "a kind of engagement")
    capacity = Integer(help_text="Per quarter, in `unit`: up to 50 engagements or 500 hours.")
    unit = _choice(Offer.Unit.choices, "a unit of capacity", default=Offer.Unit.ENGAGEMENTS)
    remote = Boolean(default=True)
    onsite = Boolean(default=False)
    note = Text(max_length=300, allow_blank=True, default="")


class ProfileIn(serializers.Serializer):
    """A profile; codes are checked by the registry service, which names every bad field."""

    display_name = Text(max_length=120)
    bio = Text(max_length=1500, allow_blank=True, default="")
    field_of_study = Text(max_length=20, allow_blank=True, default="", help_text="ISCED-F 2013 narrow field ('061').")
    occupation = Text(max_length=20, allow_blank=True, default="", help_text="ISCO-08 major group.")
    skills = serializers.ListField(child=Text(max_length=80), max_length=30, default=list)
    tags = serializers.ListField(child=Text(max_length=40), max_length=20, default=list)
    languages = serializers.ListField(child=Text(max_length=20), max_length=20, default=list)
    country = Text(max_length=20, allow_blank=True, default="", help_text="ISO 3166-1 alpha-3.")
    city = Text(max_length=120, allow_blank=True, default="")
    timezone = Text(
        max_length=64, allow_blank=True, default="", help_text="IANA zone; the country's main one when blank."
    )
    home_region = Text(max_length=20, allow_blank=True, default="", help_text="ISO 3166-2:KZ.")
    departure_year = Integer(required=False, allow_null=True)
    programmes = serializers.ListField(child=Slug(max_length=80), max_length=20, default=list)
    offers = OfferIn(many=True, default=list)
    visibility = serializers.DictField(
        child=_choice(Visibility.choices, "a visibility level"),
        required=False,
        help_text="Who sees each field group: {profile, expertise, location, contact} -> level. "
        "`profile` also decides whether you are listed at all.",
    )

    def to_profile(self) -> ProfileInput:
        values = dict(self.validated_data)
        values.pop("consents", None)
        values["offers"] = [OfferInput(**offer) for offer in values.get("offers", [])]
        values["visibility"] = values.get("visibility") or {}
        return ProfileInput(**values)


class ProfileJoinInput(ProfileIn):
    consents = serializers.ListField(
        child=_choice(Consent.Purpose.choices, "a consent purpose"),
        max_length=3,
        help_text="Purposes agreed to; `registry` is needed to join.",
    )


class VisibilityOutput(serializers.Serializer):
    profile = serializers.CharField()
    expertise = serializers.CharField()
    location = serializers.CharField()
    contact = serializers.CharField()


class MyProfileOutput(PersonCardOutput):
    """Your own profile: every group, with its visibility, status and live consents."""

    status = serializers.CharField()
    visibility = VisibilityOutput()
    consents = serializers.ListField(child=serializers.CharField(), help_text="Purposes with a live consent.")
    stale_warned_at = serializers.DateTimeField(allow_null=True)


class StatusInput(serializers.Serializer):
    status = _choice(Person.Status.choices, "a profile status")


class ConsentInput(serializers.Serializer):
    purpose = _choice(Consent.Purpose.choices, "a consent purpose")


class ConsentOutput(serializers.ModelSerializer):
    purpose = serializers.CharField()

    class Meta:
        model = Consent
        fields = ["purpose", "text_version", "given_at", "withdrawn_at", "source"]


# --------------------------------------------------------------------------- requests


class RequestIn(serializers.Serializer):
    institution = Integer(min_value=1, help_text="Id of an institution you belong to.")
    title = Text(max_length=200)
    topic = Text(max_length=4000, help_text="What you need, in 20 to 4,000 characters.")
    mode = _choice(Mode.choices, "a kind of engagement")
    field_of_study = Text(max_length=20, allow_blank=True, default="")
    skills = serializers.ListField(child=Text(max_length=80), max_length=30, default=list)
    languages = serializers.ListField(
        child=Text(max_length=20),
        max_length=20,
        default=list,
        help_text="The expert must speak one of these (none: any).",
    )
    region = Text(max_length=20, allow_blank=True, default="", help_text="ISO 3166-2:KZ.")
    format = _choice(ExpertiseRequest.Format.choices, "a format", default=ExpertiseRequest.Format.EITHER)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    experts_needed = Integer(min_value=1, max_value=50, default=1)
    hours_per_expert = Integer(min_value=1, max_value=500, default=8)
    programme = Slug(max_length=80, allow_blank=True, default="")

    def to_request(self) -> RequestInput:
        values = dict(self.validated_data)
        return RequestInput(institution_id=values.pop("institution"), **values)


class InstitutionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RequestOutput(serializers.ModelSerializer):
    institution = InstitutionOutput()
    programme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    mode = serializers.CharField()
    format = serializers.CharField()
    status = serializers.CharField(help_text="open, filled or closed")
    skills = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ExpertiseRequest
        fields = [
            "id",
            "institution",
            "programme",
            "title",
            "topic",
            "mode",
            "field_of_study",
            "skills",
            "languages",
            "region",
            "format",
            "starts_on",
            "ends_on",
            "experts_needed",
            "hours_per_expert",
            "status",
            "created_at",
            "updated_at",
        ]


class CandidateOfferOutput(serializers.Serializer):
    mode = serializers.CharField()
    unit = serializers.CharField()
    remaining_after = serializers.IntegerField(help_text="Capacity the offer would keep after this engagement.")
    remote = serializers.BooleanField()
    onsite = serializers.BooleanField()


class CandidateOutput(serializers.Serializer):
    person = PersonCardOutput()
    score = serializers.FloatField()
    components = serializers.DictField(child=serializers.FloatField(allow_null=True))
    explanation = serializers.ListField(child=serializers.CharField())
    offer = CandidateOfferOutput()


class FilterStepOutput(serializers.Serializer):
    step = serializers.CharField()
    label = serializers.CharField()
    remaining = serializers.IntegerField(help_text="Experts still in after this filter.")


class TopOutput(serializers.Serializer):
    request = serializers.IntegerField()
    candidates = CandidateOutput(many=True)
    why_nobody = serializers.CharField(allow_null=True, help_text="Why nobody matches, when nobody does.")
    filter_trail = FilterStepOutput(many=True)


class OffersSentOutput(serializers.Serializer):
    offered = serializers.IntegerField()


# --------------------------------------------------------------------------- matches


class MatchRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    topic = serializers.CharField()
    institution = serializers.CharField(source="institution.name")
    mode = serializers.CharField()
    format = serializers.CharField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    hours_per_expert = serializers.IntegerField()


class MyMatchOutput(serializers.ModelSerializer):
    """An offer or engagement of yours, and why you were asked (in your language)."""

    request = MatchRequestOutput()
    status = serializers.CharField()
    explanation = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Match
        fields = [
            "id",
            "status",
            "request",
            "explanation",
            "offered_at",
            "expires_at",
            "responded_at",
            "activated_at",
            "completed_at",
            "decline_reason",
            "expert_rating",
            "expert_feedback",
        ]


class RequestMatchOutput(serializers.ModelSerializer):
    """A proposal or engagement for a request, with the expert as the viewer may see them."""

    person = PersonCardOutput(source="card")
    status = serializers.CharField()
    components = serializers.DictField(child=serializers.FloatField(allow_null=True))
    explanation = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Match
        fields = [
            "id",
            "status",
            "rank",
            "score",
            "components",
            "person",
            "explanation",
            "offered_at",
            "expires_at",
            "responded_at",
            "activated_at",
            "completed_at",
            "decline_reason",
            "institution_rating",
            "institution_feedback",
        ]


class MatchStatusOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class DeclineInput(serializers.Serializer):
    reason = Text(max_length=300, allow_blank=True, default="")


class FeedbackInput(serializers.Serializer):
    rating = Integer(min_value=1, max_value=5, required=False, allow_null=True)
    feedback = Text(max_length=2000, allow_blank=True, default="")


# --------------------------------------------------------------------------- messages


class InboxMessageOutput(serializers.ModelSerializer):
    sender = serializers.SerializerMethodField(help_text="Who wrote; null for a notice from the platform.")
    match = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = ["id", "sender", "subject", "body", "match", "created_at", "read_at"]

    def get_sender(self, message: Message) -> str | None:
        # named as the pages name them: a display name, never a login name or address
        return None if message.sender is None else shown_name(message.sender)


class ReplyInput(serializers.Serializer):
    body = Text(max_length=5000)


# --------------------------------------------------------------------------- runs and metrics


class RunInput(serializers.Serializer):
    programme = serializers.SlugField(
        required=False,
        default="",
        allow_blank=True,
        help_text="The programme whose open requests to match; needed when you administer several. "
        "Superusers may leave it empty for a platform-wide run.",
    )


class RunOutput(serializers.ModelSerializer):
    kind = serializers.CharField()
    status = serializers.CharField(help_text="created, running, complete or error")
    stats = serializers.DictField()
    programme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "kind",
            "key",
            "programme",
            "status",
            "stats",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class MetricsOutput(serializers.Serializer):
    offers_answered = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True, help_text="accepted / (accepted + declined + expired)")
    median_response_hours = serializers.FloatField(allow_null=True)
    requests_considered = serializers.IntegerField()
    coverage_30d = serializers.FloatField(
        allow_null=True, help_text="Share of requests with an acceptance within 30 days of being posted."
    )
    experts_with_offers = serializers.IntegerField()
    gini_load = serializers.FloatField(allow_null=True, help_text="Inequality of engagements per expert (0: even).")
    by_status = serializers.DictField(child=serializers.IntegerField())
