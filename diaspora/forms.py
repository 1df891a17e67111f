"""Forms of the registry pages: they parse what the browser sends into the services' inputs.

Domain rules live in the services (profile_clean, request_clean); the forms check types,
ranges and required answers with translated messages, and `add_service_errors` puts a
service's RegistryInvalid errors next to the fields they concern.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.validators import MaxValueValidator
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Programme, Role, User
from config.collation import sorted_choices
from surveys.countries import country_choices

from . import vocabularies as vocab
from .consents import CONSENT_TEXTS
from .models import DEFAULT_VISIBILITY, Consent, ExpertiseRequest, Mode, Offer, Visibility
from .services.registry import MAX_OFFER_CAPACITY, OfferInput, ProfileInput
from .services.requests import RequestInput

GROUPS = ("profile", "expertise", "location", "contact")
GROUP_LABELS = {
    "profile": _("Your name, bio, occupation and programmes"),
    "expertise": _("Your field, skills, languages and what you offer"),
    "location": _("Where you live, your time zone, year of departure and home region"),
    "contact": _("Who may write to you through the platform"),
}
GROUP_HINTS = {
    "profile": _("This also decides whether you appear in the directory at all."),
    "expertise": _("Home institutions need to see this to propose you for their requests."),
    "location": _(
        "Matching uses your time zone and home region only when home institutions may see them; "
        "otherwise they count for nothing, and nobody can work them out from a ranking."
    ),
    "contact": _("Your e-mail address is never shown; messages are relayed."),
}
LEVEL_EXPLANATIONS = {
    Visibility.PUBLIC: _("anyone with an account on Kelu."),
    Visibility.INSTITUTIONS: _(
        "staff of Kazakhstan's universities, companies and agencies registered here, and programme administrators."
    ),
    Visibility.ADMINISTRATORS: _("only the administrators of the programmes you belong to."),
    Visibility.HIDDEN: _("nobody but you. Hiding your profile takes you out of the directory and of matching."),
}
CONSENT_FIELDS = {
    Consent.Purpose.REGISTRY: "consent_registry",
    Consent.Purpose.MATCHING: "consent_matching",
    Consent.Purpose.MESSAGES: "consent_messages",
}


def language() -> str:
    current = (translation.get_language() or "en").split("-")[0]
    return current if current in ("kk", "ru", "en") else "en"


# --------------------------------------------------------------------------- choice lists


def country_options(lang: str) -> list[tuple[str, str]]:
    """Countries in the language's alphabetical order (in Kazakh, Қазақстан right after Қ)."""
    pairs = [(code, names.get(lang) or names["en"]) for code, names in country_choices()]
    return [("", _("Choose...")), *sorted_choices(pairs, lang)]


# A long list gets a box that narrows it as one types (static/site/choices.js); without script
# it is a plain list. The attribute's value labels that box.
SEARCHABLE = {"data-searchable": _("Type to narrow the list")}


def field_options(lang: str, *, broad: bool = True) -> list:
    """Narrow fields grouped under their broad field; the broad field itself is a choice too
    (a survey answer names only the broad field)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in vocab.field_choices(lang):
        groups.setdefault(code[:2], []).append((code, label))
    options: list = [("", _("Choose..."))]
    for broad_code, narrow in groups.items():
        broad_label = vocab.field_label(broad_code, lang)
        first = [(broad_code, _("%(field)s (in general)") % {"field": broad_label})] if broad else []
        options.append((broad_label, first + narrow))
    return options


def language_options(lang: str) -> list[tuple[str, str]]:
    """Kazakh, Russian and English first (nearly everyone ticks one), then the rest alphabetically."""
    first = ("kk", "ru", "en")
    pairs = vocab.language_choices(lang)
    return sorted((p for p in pairs if p[0] in first), key=lambda p: first.index(p[0])) + [
        p for p in pairs if p[0] not in first
    ]


def skill_groups(lang: str) -> dict[str, str]:
    """Skill slug -> the label of its broad field (the heading it is listed under)."""
    return {slug: vocab.field_label(skill.field[:2], lang) for slug, skill in vocab.SKILLS.items()}


def skill_options(lang: str) -> list[tuple[str, str]]:
    """Skills by broad field, then alphabetically (skill_choices is already in label order)."""
    return sorted(vocab.skill_choices(lang), key=lambda pair: vocab.SKILLS[pair[0]].field[:2])


@cache
def country_timezones() -> dict[str, str]:
    """Each country's main time zone: the page script fills the time zone when the country changes."""
    return {code: vocab.default_timezone(code) for code, _names in country_choices()}


@cache
def all_timezones() -> list[str]:
    """Every IANA zone name, for the time zone box's suggestions."""
    from zoneinfo import available_timezones

    return sorted(available_timezones())


def programme_options(lang: str, programmes: Iterable[Programme] | None = None) -> list[tuple[str, str]]:
    programmes = Programme.objects.order_by("name") if programmes is None else programmes
    return [(p.slug, p.names.get(lang) or p.name) for p in programmes]


# --------------------------------------------------------------------------- shared behaviour


class AccessibleForm(forms.Form):
    """Every widget is described by its hint and its error message (ids the templates render)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.describe_widgets()

    def describe_widgets(self) -> None:
        for name, field in self.fields.items():
            html_name = self.add_prefix(name)
            described = ([f"hint-{html_name}"] if field.help_text else []) + [f"err-{html_name}"]
            field.widget.attrs.setdefault("aria-describedby", " ".join(described))

    def skill_sections(self) -> list[tuple[str, list]]:
        """The skills' checkboxes under the heading of their broad field."""
        groups = skill_groups(language())
        sections: dict[str, list] = {}
        for option in self["skills"]:
            sections.setdefault(groups.get(option.data["value"], ""), []).append(option)
        return list(sections.items())

    # Errors from a service are keyed by its own names; these say which field shows them.
    service_fields: dict[str, str] = {}

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            name = self.service_fields.get(key, key)
            self.add_error(name if name in self.fields else None, message)

    def error_summary(self) -> list[dict[str, str]]:
        summary = [{"href": "main", "label": "", "message": str(e)} for e in self.non_field_errors()]
        order = list(self.fields)
        for name in sorted((n for n in self.errors if n in self.fields), key=order.index):
            errors = self.errors[name]
            field = self[name]
            grouped = field.widget_type in ("checkboxselectmultiple", "radioselect")
            href = f"{field.auto_id}_0" if grouped else field.auto_id
            summary.extend({"href": href, "label": str(field.label), "message": str(e)} for e in errors)
        return summary


# --------------------------------------------------------------------------- the profile


class ProfileForm(AccessibleForm):
    """The registry profile: sign-up (with consents) and editing (without)."""

    display_name = forms.CharField(
        label=_("Name shown in the registry"),
        max_length=120,
        help_text=_("Your name as you want institutions to see it."),
        error_messages={"required": _("Enter the name to show in the registry.")},
    )
    bio = forms.CharField(
        label=_("About you"),
        required=False,
        max_length=1500,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("A few sentences on your work and what you could help with (at most 1,500 characters)."),
    )
    occupation = forms.ChoiceField(label=_("Occupation (ISCO-08)"), required=False)
    programmes = forms.MultipleChoiceField(
        label=_("Programmes you studied with"), required=False, widget=forms.CheckboxSelectMultiple
    )
    field_of_study = forms.ChoiceField(label=_("Field of study (ISCED-F 2013)"), required=False)
    skills = forms.MultipleChoiceField(
        label=_("Skills"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick what you are good at; the list is shared with institutions, so matching can compare."),
    )
    tags = forms.CharField(
        label=_("Other keywords"),
        required=False,
        max_length=1000,
        help_text=_("Anything the list lacks, separated by commas (at most 20, each up to 40 characters)."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages you work in"), required=False, widget=forms.CheckboxSelectMultiple
    )
    country = forms.ChoiceField(label=_("Country where you live"), required=False)
    city = forms.CharField(label=_("City"), required=False, max_length=120)
    timezone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        help_text=_("Filled in from your country; change it if you live elsewhere in a large country."),
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    home_region = forms.ChoiceField(label=_("Your home region in Kazakhstan"), required=False)
    departure_year = forms.IntegerField(
        label=_("Year you left Kazakhstan"),
        required=False,
        min_value=1950,
        widget=forms.NumberInput(attrs={"class": "short", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, with_consents: bool = False, **kwargs: Any):
        self.with_consents = with_consents
        super().__init__(*args, **kwargs)
        lang = language()
        self.fields["departure_year"].validators.append(MaxValueValidator(timezone.now().year))
        self.fields["departure_year"].widget.attrs["max"] = timezone.now().year
        self.fields["occupation"].choices = [("", _("Choose...")), *vocab.occupation_choices(lang)]
        self.fields["programmes"].choices = programme_options(lang)
        self.fields["field_of_study"].choices = field_options(lang)
        self.fields["skills"].choices = skill_options(lang)
        self.fields["languages"].choices = language_options(lang)
        self.fields["country"].choices = country_options(lang)
        self.fields["home_region"].choices = [("", _("None or prefer not to say")), *vocab.region_choices(lang)]
        for name in ("country", "field_of_study"):
            self.fields[name].widget.attrs.update(SEARCHABLE)
        self._add_offer_fields()
        self._add_visibility_fields()
        if with_consents:
            self._add_consent_fields()
        self.describe_widgets()  # again, for the fields added here

    def _add_offer_fields(self) -> None:
        for mode in Mode:
            self.fields[f"offer_{mode.value}"] = forms.BooleanField(label=mode.label, required=False)
            self.fields[f"capacity_{mode.value}"] = forms.IntegerField(
                label=_("How much per quarter"),
                required=False,
                min_value=1,
                widget=forms.NumberInput(attrs={"class": "short", "inputmode": "numeric"}),
            )
            self.fields[f"unit_{mode.value}"] = forms.ChoiceField(
                label=_("Counted in"), choices=Offer.Unit.choices, initial=Offer.Unit.ENGAGEMENTS, required=False
            )
            self.fields[f"remote_{mode.value}"] = forms.BooleanField(label=_("remotely"), required=False, initial=True)
            self.fields[f"onsite_{mode.value}"] = forms.BooleanField(label=_("on site"), required=False)

    def _add_visibility_fields(self) -> None:
        for group in GROUPS:
            self.fields[f"visibility_{group}"] = forms.ChoiceField(
                label=GROUP_LABELS[group],
                help_text=GROUP_HINTS[group],
                choices=Visibility.choices,
                initial=DEFAULT_VISIBILITY[group],
                widget=forms.RadioSelect,
            )

    def _add_consent_fields(self) -> None:
        for purpose, name in CONSENT_FIELDS.items():
            required = purpose == Consent.Purpose.REGISTRY
            self.fields[name] = forms.BooleanField(
                label=Consent.Purpose(purpose).label,
                help_text=CONSENT_TEXTS[purpose][1],
                required=required,
                error_messages={"required": _("You can join the registry only if you agree to be listed.")},
            )

    # ---- what the template shows

    def offer_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "mode": mode.value,
                "label": mode.label,
                "offered": self[f"offer_{mode.value}"],
                "capacity": self[f"capacity_{mode.value}"],
                "unit": self[f"unit_{mode.value}"],
                "remote": self[f"remote_{mode.value}"],
                "onsite": self[f"onsite_{mode.value}"],
            }
            for mode in Mode
        ]

    def visibility_fields(self) -> list[forms.BoundField]:
        return [self[f"visibility_{group}"] for group in GROUPS]

    def consent_rows(self) -> list[dict[str, Any]]:
        if not self.with_consents:
            return []
        return [
            {"field": self[name], "version": CONSENT_TEXTS[purpose][0], "purpose": purpose}
            for purpose, name in CONSENT_FIELDS.items()
        ]

    # ---- checks and the service input

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for mode in Mode:
            if not cleaned.get(f"offer_{mode.value}"):
                continue
            capacity = cleaned.get(f"capacity_{mode.value}")
            unit = cleaned.get(f"unit_{mode.value}") or Offer.Unit.ENGAGEMENTS
            limit = MAX_OFFER_CAPACITY.get(unit, 50)
            if capacity is None and f"capacity_{mode.value}" not in self.errors:
                self.add_error(
                    f"capacity_{mode.value}",
                    _("%(mode)s: say how much you can give per quarter.") % {"mode": mode.label},
                )
            elif capacity is not None and capacity > limit:
                self.add_error(
                    f"capacity_{mode.value}",
                    _("%(mode)s: at most %(limit)s %(unit)s.")
                    % {"mode": mode.label, "limit": limit, "unit": Offer.Unit(unit).label},
                )
            if not (cleaned.get(f"remote_{mode.value}") or cleaned.get(f"onsite_{mode.value}")):
                self.add_error(
                    f"remote_{mode.value}",
                    _("%(mode)s: tick remotely, on site or both.") % {"mode": mode.label},
                )
        tags = self.tag_list(cleaned.get("tags", ""))
        if len(tags) > 20:
            self.add_error("tags", _("At most 20 keywords."))
        elif any(len(t) > 40 for t in tags):
            self.add_error("tags", _("Each keyword is at most 40 characters."))
        return cleaned

    @staticmethod
    def tag_list(text: str) -> list[str]:
        return [t.strip() for t in (text or "").split(",") if t.strip()]

    def profile_input(self) -> ProfileInput:
        data = self.cleaned_data
        return ProfileInput(
            display_name=data["display_name"],
            bio=data.get("bio", ""),
            field_of_study=data.get("field_of_study", ""),
            occupation=data.get("occupation", ""),
            skills=list(data.get("skills", [])),
            tags=self.tag_list(data.get("tags", "")),
            languages=list(data.get("languages", [])),
            country=data.get("country", ""),
            city=data.get("city", ""),
            timezone=data.get("timezone", ""),
            home_region=data.get("home_region", ""),
            departure_year=data.get("departure_year"),
            programmes=list(data.get("programmes", [])),
            offers=[
                OfferInput(
                    mode=mode.value,
                    capacity=data[f"capacity_{mode.value}"],
                    unit=data[f"unit_{mode.value}"] or Offer.Unit.ENGAGEMENTS,
                    remote=data[f"remote_{mode.value}"],
                    onsite=data[f"onsite_{mode.value}"],
                )
                for mode in Mode
                if data.get(f"offer_{mode.value}")
            ],
            visibility={group: data[f"visibility_{group}"] for group in GROUPS},
        )

    def consents(self) -> list[str]:
        return [purpose for purpose, name in CONSENT_FIELDS.items() if self.cleaned_data.get(name)]

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            if key == "offers":
                self.add_error(None, _("What you offer: %(problem)s") % {"problem": message})
            elif key == "visibility":
                self.add_error(None, _("Who sees what: %(problem)s") % {"problem": message})
            elif key == "consents" and "consent_registry" in self.fields:
                self.add_error("consent_registry", message)
            elif key in self.fields:
                self.add_error(key, message)
            else:
                self.add_error(None, message)


def profile_initial(values: dict[str, Any]) -> dict[str, Any]:
    """Form initial data from a person's fields or from profile_prefill (offers as OfferInput)."""
    initial = {k: v for k, v in values.items() if k not in ("offers", "tags", "visibility") and v not in (None, "")}
    if values.get("tags"):
        initial["tags"] = ", ".join(values["tags"])
    if values.get("country") and not values.get("timezone"):
        initial["timezone"] = vocab.default_timezone(values["country"])
    for offer in values.get("offers") or []:
        initial.update(
            {
                f"offer_{offer.mode}": True,
                f"capacity_{offer.mode}": offer.capacity,
                f"unit_{offer.mode}": offer.unit,
                f"remote_{offer.mode}": offer.remote,
                f"onsite_{offer.mode}": offer.onsite,
            }
        )
    for group, level in (values.get("visibility") or {}).items():
        initial[f"visibility_{group}"] = level
    return initial


def person_values(person) -> dict[str, Any]:
    names = ("display_name", "bio", "field_of_study", "occupation", "skills", "tags", "languages", "country",
             "city", "timezone", "home_region", "departure_year")  # fmt: skip
    values = {name: getattr(person, name) for name in names}
    values["programmes"] = [p.slug for p in person.programmes.all()]
    values["offers"] = [
        OfferInput(mode=o.mode, capacity=o.capacity, unit=o.unit, remote=o.remote, onsite=o.onsite)
        for o in person.offers.all()
    ]
    values["visibility"] = {group: person.visibility_of(group) for group in GROUPS}
    return values


# --------------------------------------------------------------------------- a new account


class AccountForm(AccessibleForm):
    """The account made in the same submit as the profile (role respondent)."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("To sign in with. Letters, digits and . _ - only; it is never shown to others."),
        validators=[User.username_validator],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("We tell you here when a message or a proposal waits. Nobody else sees it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=password_validation.password_validators_help_text_html,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=True),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Plain words instead of the validators' HTML list.
        self.fields["password"].help_text = _("At least 8 characters; not only digits, not a common password.")
        self.fields["password"].widget.attrs["aria-describedby"] = "hint-password err-password"

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if "@" in username or "+" in username:
            # A username is shown nowhere, but an address must never become one.
            raise forms.ValidationError(_("Use letters, digits and . _ - only (not an e-mail address)."))
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken; choose another or sign in."))
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    def create_user(self, *, preferred_language: str) -> User:
        data = self.cleaned_data
        user = User.objects.create_user(
            username=data["username"],
            email=data["email"],
            password=data["password"],
            role=Role.RESPONDENT,
            preferred_language=preferred_language,
        )
        return user


# --------------------------------------------------------------------------- small forms


class DeclineForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Why not? (optional, shown to the institution)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


RATINGS = [("", "—"), *((str(n), str(n)) for n in range(1, 6))]


class FeedbackForm(AccessibleForm):
    rating = forms.TypedChoiceField(
        label=_("Rating from 1 (poor) to 5 (excellent)"),
        choices=RATINGS,
        coerce=int,
        empty_value=None,
        required=False,
    )
    feedback = forms.CharField(
        label=_("Feedback"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MessageForm(AccessibleForm):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))


class ReplyForm(AccessibleForm):
    body = forms.CharField(label=_("Your reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))


class DirectoryForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=200, widget=forms.TextInput(attrs={"type": "search"})
    )
    field = forms.ChoiceField(label=_("Field of study"), required=False)
    skill = forms.ChoiceField(label=_("Skill"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    mode = forms.ChoiceField(label=_("Offers"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        lang = language()
        anything = ("", _("Any"))
        self.fields["field"].choices = [anything, *field_options(lang)[1:]]
        self.fields["skill"].choices = [anything, *vocab.skill_choices(lang)]
        self.fields["country"].choices = [anything, *country_options(lang)[1:]]
        self.fields["language"].choices = [anything, *vocab.language_choices(lang)]
        self.fields["mode"].choices = [anything, *Mode.choices]
        for name in ("field", "skill", "country", "language"):
            self.fields[name].widget.attrs.update(SEARCHABLE)

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


# --------------------------------------------------------------------------- expertise requests


class RequestForm(AccessibleForm):
    institution = forms.TypedChoiceField(label=_("Institution"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200)
    topic = forms.CharField(
        label=_("What you need"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Describe the task in 20 to 4,000 characters: matching reads this text."),
    )
    mode = forms.ChoiceField(label=_("Kind of engagement"), choices=[("", _("Choose...")), *Mode.choices])
    field_of_study = forms.ChoiceField(label=_("Field of study"), required=False)
    skills = forms.MultipleChoiceField(label=_("Skills needed"), required=False, widget=forms.CheckboxSelectMultiple)
    languages = forms.MultipleChoiceField(
        label=_("Working languages"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The expert must speak at least one of them; tick none if any will do."),
    )
    region = forms.ChoiceField(
        label=_("Region"), required=False, help_text=_("Where the work happens; your institution's region if empty.")
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=ExpertiseRequest.Format.choices,
        initial=ExpertiseRequest.Format.EITHER,
        widget=forms.RadioSelect,
    )
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    experts_needed = forms.IntegerField(
        label=_("Experts needed"),
        min_value=1,
        max_value=50,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "short"}),
    )
    hours_per_expert = forms.IntegerField(
        label=_("Hours per expert"),
        min_value=1,
        max_value=500,
        initial=8,
        widget=forms.NumberInput(attrs={"class": "short"}),
        help_text=_("What one engagement takes from an expert who counts in hours."),
    )
    programme = forms.ChoiceField(label=_("Programme"), required=False)

    def __init__(self, *args: Any, institutions: Iterable = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        lang = language()
        self.fields["institution"].choices = [(i.pk, i.name) for i in institutions]
        self.fields["field_of_study"].choices = field_options(lang)
        self.fields["skills"].choices = skill_options(lang)
        self.fields["languages"].choices = language_options(lang)
        self.fields["region"].choices = [("", _("The institution's region")), *vocab.region_choices(lang)]
        self.fields["field_of_study"].widget.attrs.update(SEARCHABLE)
        # Only programmes the user's institutions take part in (the service checks the pair).
        taking_part = Programme.objects.filter(institutions__in=[i.pk for i in institutions]).distinct()
        self.fields["programme"].choices = [("", _("None")), *programme_options(lang, taking_part.order_by("name"))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if isinstance(starts, date) and isinstance(ends, date) and ends < starts:
            self.add_error("ends_on", _("The end date is before the start date."))
        return cleaned

    def request_input(self) -> RequestInput:
        data = self.cleaned_data
        return RequestInput(
            institution_id=data["institution"],
            title=data["title"],
            topic=data["topic"],
            mode=data["mode"],
            field_of_study=data.get("field_of_study", ""),
            skills=list(data.get("skills", [])),
            languages=list(data.get("languages", [])),
            region=data.get("region", ""),
            format=data["format"],
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            experts_needed=data["experts_needed"],
            hours_per_expert=data["hours_per_expert"],
            programme=data.get("programme", ""),
        )


def request_initial(request: ExpertiseRequest) -> dict[str, Any]:
    names = ("title", "topic", "mode", "field_of_study", "skills", "languages", "region", "format",
             "starts_on", "ends_on", "experts_needed", "hours_per_expert")  # fmt: skip
    initial = {name: getattr(request, name) for name in names}
    initial["institution"] = request.institution_id
    initial["programme"] = request.programme.slug if request.programme_id else ""
    return initial
