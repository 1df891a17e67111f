"""Staff pages for fieldwork: create and edit a wave, preview its letters, send its invitations,
follow them, resend held letters, and share the public link.

Thin views: forms turn text into a `WaveSpec`, the services in ``services.waves`` check and
write, the selectors in ``selectors_fieldwork`` read (scoped to the user's programmes:
another programme's wave is a 404; users who administer nothing get a 403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from .. import selectors_admin, selectors_fieldwork
from ..emails import KINDS, LANGUAGES, builtin_letter
from ..models import Invitation, InvitationSendJob, Panel, SurveyVersion, Wave
from ..services import waves as service
from ..services.waves import PLACEHOLDERS, QuotaSpec, WaveInvalid, WaveSpec
from .staff import staff_required

PAGE_SIZE = 50
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
KIND_NAMES = {"invitation": gettext_lazy("Invitation"), "reminder": gettext_lazy("Reminder")}
PLACEHOLDER_HELP = {
    "greeting": gettext_lazy("“Dear …,” with the member's name, or a greeting without it"),
    "name": gettext_lazy("the member's name as the panel holds it"),
    "survey": gettext_lazy("the survey's title"),
    "link": gettext_lazy("the member's personal link (added at the end if missing)"),
    "optout_link": gettext_lazy("the one-click opt-out link (added at the end if missing)"),
    "closes": gettext_lazy("the last day the survey is open"),
    "closes_line": gettext_lazy("a sentence saying until when the survey is open (empty without a closing date)"),
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


# --------------------------------------------------------------------------- forms


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


class VersionChoiceForm(forms.Form):
    version = forms.ModelChoiceField(
        label=gettext_lazy("Survey version"),
        queryset=SurveyVersion.objects.none(),
        help_text=gettext_lazy("Only published versions of your programmes' surveys can be fielded."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = selectors_fieldwork.versions_fieldable_by(user)
        self.fields["version"].label_from_instance = version_label


def version_label(version: SurveyVersion) -> str:
    label = f" ({version.label})" if version.label else ""
    return f"{version.survey.local_title} · v{version.number}{label}"


class WaveForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    slug = forms.CharField(
        label=gettext_lazy("Short name in links"),
        max_length=80,
        required=False,
        help_text=gettext_lazy("Lowercase Latin letters, digits and hyphens; made from the name when left empty."),
    )
    version = forms.ModelChoiceField(label=gettext_lazy("Survey version"), queryset=SurveyVersion.objects.none())
    panel = forms.ModelChoiceField(
        label=gettext_lazy("Panel to invite"),
        queryset=Panel.objects.none(),
        required=False,
        empty_label=gettext_lazy("No panel: public link only"),
    )
    is_public = forms.BooleanField(
        label=gettext_lazy("Public link"), required=False, help_text=gettext_lazy("Anyone with the link may answer.")
    )
    opens_at = forms.DateTimeField(label=gettext_lazy("Opens"), widget=_datetime_input())
    closes_at = forms.DateTimeField(label=gettext_lazy("Closes"), widget=_datetime_input(), required=False)
    reminder_days = forms.CharField(
        label=gettext_lazy("Reminder days"),
        required=False,
        help_text=gettext_lazy(
            "Days after the invitation to send a reminder, separated by commas, e.g. 3, 7, 14. "
            "Empty: no reminders. Reminders stop once someone answers."
        ),
    )
    send_rate_per_minute = forms.IntegerField(
        label=gettext_lazy("Letters per minute at most"),
        min_value=1,
        max_value=100_000,
        help_text=gettext_lazy("A throttle that keeps the mail server and spam filters content."),
    )
    prefill_fields = forms.MultipleChoiceField(
        label=gettext_lazy("Answers carried forward"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "These answers are filled in from the member's last complete response to this survey; they can change them."
        ),
    )

    def __init__(self, *args: Any, user: Any, version: SurveyVersion, wave: Wave | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.wave, self.chosen_version = wave, version
        fields = self.fields
        versions = selectors_fieldwork.versions_fieldable_by(user)
        if wave is None:
            fields["version"].queryset = versions.filter(pk=version.pk)
            fields["version"].widget = forms.HiddenInput()
        else:
            del fields["slug"]
            fields["version"].queryset = versions.filter(survey_id=wave.survey_id)
            fields["version"].label_from_instance = version_label
        fields["panel"].queryset = selectors_fieldwork.panels_for(user, version.survey.programme_id)
        fields["panel"].label_from_instance = _panel_label
        instrument = version.instrument
        language = self._label_language()
        fields["prefill_fields"].choices = [
            (name, f"{instrument.text(item.labels, language) or name} ({name})")
            for name, item in instrument.fields.items()
            if item.takes_answer and item.repeat is None
        ]
        for language_code in LANGUAGES:
            fields[f"name_{language_code}"] = forms.CharField(
                label=_("Name in %(language)s") % {"language": LANGUAGE_NAMES[language_code]},
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"lang": language_code}),
            )
        fields["name"].help_text = _("Respondents see the name in their language where one is given below.")
        for language_code in LANGUAGES:
            for kind, (subject, body) in service.LETTER_PARTS.items():
                names = {"language": LANGUAGE_NAMES[language_code], "kind": KIND_NAMES[kind]}
                fields[f"letter_{language_code}_{subject}"] = forms.CharField(
                    label=_("%(kind)s: subject") % names, required=False, max_length=service.SUBJECT_MAX
                )
                fields[f"letter_{language_code}_{body}"] = forms.CharField(
                    label=_("%(kind)s: text") % names,
                    required=False,
                    max_length=service.BODY_MAX,
                    strip=False,
                    widget=forms.Textarea(attrs={"rows": 10, "lang": language_code}),
                )
                fields[f"letter_{language_code}_{subject}"].widget.attrs["lang"] = language_code

    @staticmethod
    def _label_language() -> str:
        from django.utils import translation

        return translation.get_language() or "en"

    def name_fields(self) -> list[forms.BoundField]:
        return [self[f"name_{code}"] for code in LANGUAGES]

    def letter_fields(self, language: str) -> list[forms.BoundField]:
        return [self[f"letter_{language}_{part}"] for pair in service.LETTER_PARTS.values() for part in pair]

    def clean_reminder_days(self) -> list[int]:
        return service.reminder_days_from_text(self.cleaned_data.get("reminder_days") or "")

    def templates(self) -> dict[str, dict[str, str]]:
        """The letters as posted (valid or not), per language."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            language: {
                part: (data.get(f"letter_{language}_{part}") or "").strip()
                for pair in service.LETTER_PARTS.values()
                for part in pair
            }
            for language in LANGUAGES
        }

    def spec(self, quotas: list[QuotaSpec] | None) -> WaveSpec:
        data = self.cleaned_data
        return WaveSpec(
            name=data["name"],
            names={code: data.get(f"name_{code}") or "" for code in LANGUAGES},
            slug=data.get("slug") or "",
            version=data["version"],
            panel=data.get("panel"),
            is_public=data.get("is_public", False),
            opens_at=data["opens_at"],
            closes_at=data.get("closes_at"),
            reminder_days=data["reminder_days"],
            send_rate_per_minute=data["send_rate_per_minute"],
            prefill_fields=data.get("prefill_fields") or [],
            email_templates=self.templates(),
            quotas=quotas,
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Attach the service's problems to their fields; the ones about no field (quotas, ...) are returned."""
        rest = []
        for key, problems in errors.items():
            if key in self.fields:
                for problem in problems:
                    self.add_error(key, problem)
            else:
                rest.extend(problems)
        return rest


def _panel_label(panel: Panel) -> str:
    count = getattr(panel, "member_count", None)
    return panel.name if count is None else _("%(name)s (%(count)s members)") % {"name": panel.name, "count": count}


def _wave_initial(wave: Wave) -> dict[str, Any]:
    initial = {
        "name": wave.name,
        **{f"name_{code}": (wave.names or {}).get(code, "") for code in LANGUAGES},
        "version": wave.version_id,
        "panel": wave.panel_id,
        "is_public": wave.is_public,
        "opens_at": timezone.localtime(wave.opens_at),
        "closes_at": timezone.localtime(wave.closes_at) if wave.closes_at else None,
        "reminder_days": service.reminder_days_text(wave.reminder_days),
        "send_rate_per_minute": wave.send_rate_per_minute,
        "prefill_fields": wave.prefill_fields,
    }
    for language, texts in service.letters_clean(wave.email_templates).items():
        for part, text in texts.items():
            initial[f"letter_{language}_{part}"] = text
    return initial


class QuotaForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Quota name"), max_length=200, required=False)
    cap = forms.IntegerField(label=gettext_lazy("Complete responses at most"), min_value=1, required=False)
    conditions = forms.CharField(
        label=gettext_lazy("Conditions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "country_residence = DEU"}),
        help_text=gettext_lazy("One per line: question = answer code, e.g. country_residence = DEU."),
    )

    def clean_conditions(self) -> dict[str, str]:
        return service.quota_conditions_from_text(self.cleaned_data.get("conditions") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        filled = [bool(data.get("name")), data.get("cap") is not None, bool(data.get("conditions"))]
        if any(filled) and not all(filled) and not data.get("DELETE"):
            raise ValidationError(_("Give the quota a name, a cap and at least one condition, or leave it all empty."))
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("name") or data.get("cap") or data.get("conditions"))


QuotaFormSet = forms.formset_factory(QuotaForm, extra=1, can_delete=True, max_num=50, validate_max=True)


def _quota_initial(wave: Wave | None) -> list[dict[str, Any]]:
    if wave is None:
        return []
    return [
        {"name": q.name, "cap": q.cap, "conditions": service.quota_conditions_text(q.conditions)}
        for q in wave.quotas.order_by("name")
    ]


def _quota_specs(formset: Any) -> list[QuotaSpec]:
    specs = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", {})
        if not data or data.get("DELETE") or form.is_blank:
            continue
        specs.append(QuotaSpec(name=data["name"].strip(), cap=data["cap"], conditions=data["conditions"]))
    return specs


# --------------------------------------------------------------------------- wave settings


def _previews(
    form: WaveForm, version: SurveyVersion, wave: Wave | None, templates: dict[str, dict[str, str]] | None
) -> list[dict[str, Any]]:
    """The letters as sent, per language, from the text on the form (posted or saved)."""
    data = getattr(form, "cleaned_data", None)
    if templates is None:
        templates = service.letters_clean(wave.email_templates) if wave else {}
    if data is not None:
        panel = data.get("panel") if "panel" in data else (wave.panel if wave else None)
        closes_at = data.get("closes_at") if "closes_at" in data else (wave.closes_at if wave else None)
    else:
        panel, closes_at = (wave.panel, wave.closes_at) if wave else (None, None)
    previews = service.letter_previews(version=version, panel=panel, templates=templates, closes_at=closes_at)
    return [
        {
            "code": language,
            "name": LANGUAGE_NAMES[language],
            "letters": [{"preview": p, "kind_name": KIND_NAMES[p.kind]} for p in previews if p.language == language],
        }
        for language in LANGUAGES
    ]


def _platform_letters() -> list[dict[str, Any]]:
    return [
        {
            "code": language,
            "letters": [{"kind_name": KIND_NAMES[kind], "letter": builtin_letter(kind, language)} for kind in KINDS],
        }
        for language in LANGUAGES
    ]


def _form_page(
    request: HttpRequest,
    *,
    form: WaveForm,
    quotas: Any,
    version: SurveyVersion,
    wave: Wave | None,
    other_errors: list[str],
    previewed: bool,
    templates: dict[str, dict[str, str]] | None = None,
) -> HttpResponse:
    context = {
        "wave": wave,
        "tab": "settings",
        "form": form,
        "quotas": quotas,
        "version": version,
        "other_errors": other_errors,
        "letter_languages": [_language_section(form, code) for code in LANGUAGES],
        "placeholders": [(f"{{{name}}}", PLACEHOLDER_HELP[name]) for name in PLACEHOLDERS],
        "previews": _previews(form, version, wave, templates),
        "platform_letters": _platform_letters(),
        "previewed": previewed,
        "form_action": reverse("staff:wave-settings", args=[wave.slug])
        if wave
        else f"{reverse('staff:wave-new')}?version={version.pk}",
        "time_zone": timezone.get_current_timezone_name(),
        "quota_fields": _quota_fields(version),
    }
    return render(request, "surveys/staff/wave_form.html", context)


def _language_section(form: WaveForm, code: str) -> dict[str, Any]:
    fields = form.letter_fields(code)
    own = any(field.value() for field in fields)
    return {"code": code, "name": LANGUAGE_NAMES[code], "fields": fields, "open": own or any(f.errors for f in fields)}


def _quota_fields(version: SurveyVersion) -> list[str]:
    return [
        name
        for name, item in version.instrument.fields.items()
        if item.type in service.QUOTA_TYPES and item.repeat is None
    ]


def _save(request: HttpRequest, *, version: SurveyVersion, wave: Wave | None) -> HttpResponse:
    """Validate and save a posted wave form (or only preview its letters); the page again when anything is wrong."""
    form = WaveForm(request.POST, user=request.user, version=version, wave=wave)
    quotas = QuotaFormSet(request.POST, prefix="quotas")
    form_ok, quotas_ok = form.is_valid(), quotas.is_valid()
    templates = form.templates()  # as typed: a preview shows a wrong placeholder as the letter would
    page = {"form": form, "quotas": quotas, "version": version, "wave": wave, "templates": templates}
    if request.POST.get("action") == "preview":
        other_errors = form.add_service_errors(service.letters_errors(templates))
        return _form_page(request, **page, other_errors=other_errors, previewed=True)
    other_errors: list[str] = []
    if not (form_ok and quotas_ok):
        # The letters are checked too, so one round shows every problem.
        other_errors = form.add_service_errors(service.letters_errors(templates))
    else:
        spec = form.spec(_quota_specs(quotas))
        try:
            if wave is None:
                saved = service.wave_create(user=request.user, spec=spec)
                messages.success(request, _("The wave was created. Check its letters, then send the invitations."))
            else:
                saved = service.wave_update(user=request.user, wave=wave, spec=spec)
                messages.success(request, _("The wave's settings were saved."))
        except WaveInvalid as exc:
            other_errors = form.add_service_errors(exc.errors)
        else:
            return redirect("staff:wave-invitations" if wave is None else "staff:wave-settings", slug=saved.slug)
    return _form_page(request, **page, other_errors=other_errors, previewed=False)


@staff_required
@require_http_methods(["GET", "POST"])
def wave_new(request: HttpRequest) -> HttpResponse:
    """Step one: choose the published version (?version=); step two: the wave's settings."""
    version = selectors_fieldwork.version_fieldable_get(request.user, request.GET.get("version"))
    if version is None:
        chooser = VersionChoiceForm(request.GET or None, user=request.user)
        return render(request, "surveys/staff/wave_new.html", {"chooser": chooser, "wave": None, "tab": "settings"})
    if request.method == "POST":
        return _save(request, version=version, wave=None)
    opens = timezone.localtime().replace(second=0, microsecond=0)
    form = WaveForm(
        initial={
            "version": version.pk,
            "opens_at": opens,
            "reminder_days": service.reminder_days_text([3, 7, 14]),
            "send_rate_per_minute": Wave._meta.get_field("send_rate_per_minute").default,
        },
        user=request.user,
        version=version,
    )
    quotas = QuotaFormSet(prefix="quotas")
    return _form_page(request, form=form, quotas=quotas, version=version, wave=None, other_errors=[], previewed=False)


@staff_required
@require_http_methods(["GET", "POST"])
def wave_settings(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_fieldwork.wave_for_settings(request.user, slug)
    if request.method == "POST":
        version = selectors_fieldwork.version_fieldable_get(request.user, request.POST.get("version")) or wave.version
        return _save(request, version=version, wave=wave)
    form = WaveForm(initial=_wave_initial(wave), user=request.user, version=wave.version, wave=wave)
    quotas = QuotaFormSet(initial=_quota_initial(wave), prefix="quotas")
    return _form_page(
        request, form=form, quotas=quotas, version=wave.version, wave=wave, other_errors=[], previewed=False
    )


# --------------------------------------------------------------------------- invitations


class InvitationFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    q = forms.CharField(label=gettext_lazy("E-mail or name"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = (
            [("", gettext_lazy("Any"))]
            + list(Invitation.Status.choices)
            + [(selectors_fieldwork.HELD, pgettext_lazy("a letter", "Letter held"))]
        )

    def values(self) -> tuple[str, str]:
        if not self.is_valid():
            return "", ""
        return self.cleaned_data.get("status") or "", self.cleaned_data.get("q") or ""


def public_link(wave: Wave) -> str:
    return f"{settings.SITE_URL}{reverse('respondent-start', args=[wave.slug])}"


def qr_svg(url: str, title: str) -> str:
    """The link as a QR code, an inline SVG element (drawn here, no external service)."""
    svg = segno.make(url, error="m").svg_inline(
        scale=5, border=2, title=title, svgclass="qr", lineclass=None, omitsize=True
    )
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the title is escaped by segno


@staff_required
def wave_invitations(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_fieldwork.wave_for_settings(request.user, slug)
    filters = InvitationFilterForm(request.GET or None)
    status, search = filters.values()
    invitations = selectors_fieldwork.wave_invitations(wave, status=status, search=search)
    page = Paginator(invitations, PAGE_SIZE).get_page(request.GET.get("page"))
    job = selectors_fieldwork.wave_last_send_job(wave)
    link = public_link(wave) if wave.is_public else ""
    context = {
        "wave": wave,
        "tab": "invitations",
        "funnel": selectors_admin.wave_funnel(wave),
        "letters": selectors_fieldwork.wave_letter_counts(wave),
        "members": wave.panel.members.count() if wave.panel_id else 0,
        "job": job,
        "job_running": job is not None and not job.is_finished,
        "job_url": reverse("invitation-send-detail", args=[job.pk]) if job else "",
        "filters": filters,
        "page": page,
        "query": urlencode([(k, v) for k, v in request.GET.items() if k != "page"]),
        "public_link": link,
        "qr": qr_svg(link, _("QR code of the public link")) if link else "",
        "is_open": wave.is_open(),
        "not_yet_open": wave.opens_at > timezone.now(),
        "closed": wave.closes_at is not None and wave.closes_at <= timezone.now(),
    }
    return render(request, "surveys/staff/invitations.html", context)


@staff_required
@require_http_methods(["POST"])
def wave_invitations_send(request: HttpRequest, slug: str) -> HttpResponse:
    wave = selectors_fieldwork.wave_for_settings(request.user, slug)
    try:
        job, created = service.wave_invitations_send(wave=wave, user=request.user)
    except service.SendRefused as exc:
        messages.error(request, str(exc))
    else:
        job.refresh_from_db()
        if not created:
            messages.info(request, _("Invitations are being sent already; this is that run."))
        elif job.status == InvitationSendJob.Status.ERROR:
            messages.error(request, _("Sending failed: %(error)s") % {"error": job.error})
        else:
            messages.success(request, _("Sending the invitations has started."))
    return redirect("staff:wave-invitations", slug=wave.slug)


@staff_required
@require_http_methods(["GET", "POST"])
def letter_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A held letter: the confirmation page (GET), then the resend (POST)."""
    wave = selectors_fieldwork.wave_for_settings(request.user, slug)
    email = selectors_fieldwork.held_letter_get(request.user, wave, pk)
    if request.method == "POST":
        if service.letter_resend(email=email):
            messages.success(
                request,
                _("The letter to %(email)s will be sent again now.") % {"email": email.invitation.respondent.email},
            )
        else:
            messages.warning(request, _("This letter is not held any more; nothing was sent."))
        return redirect(reverse("staff:wave-invitations", args=[wave.slug]) + "?status=" + selectors_fieldwork.HELD)
    context = {
        "wave": wave,
        "tab": "invitations",
        "email": email,
        "kind": KIND_NAMES["invitation" if email.sequence == 0 else "reminder"],
        "held": email.status == email.Status.FAILED,
    }
    return render(request, "surveys/staff/letter_resend.html", context)


# --------------------------------------------------------------------------- the admin's wave form


def wave_admin_form(user: Any) -> type[forms.ModelForm]:
    """The admin's wave form, checked by the staff pages' rules (services.waves.wave_check) for `user`."""

    class WaveAdminForm(forms.ModelForm):
        class Meta:
            model = Wave
            fields = [
                "survey", "version", "slug", "name", "names", "opens_at", "closes_at", "is_public", "panel", "reminder_days",
                "email_templates", "prefill_fields", "send_rate_per_minute",
            ]  # fmt: skip

        def clean(self) -> dict[str, Any]:
            data = super().clean()
            shapes = {"names": dict, "reminder_days": list, "prefill_fields": list, "email_templates": dict}
            for name, shape in shapes.items():
                if name in data and not isinstance(data[name] or shape(), shape):
                    self.add_error(name, _("This must be a JSON %(shape)s.") % {"shape": shape.__name__})
            if self.errors:
                return data
            spec = WaveSpec(
                name=data.get("name") or "",
                names=data.get("names") if isinstance(data.get("names"), dict) else {},
                version=data.get("version"),
                slug=data.get("slug") or "",
                panel=data.get("panel"),
                is_public=bool(data.get("is_public")),
                opens_at=data.get("opens_at"),
                closes_at=data.get("closes_at"),
                reminder_days=list(data.get("reminder_days") or []),
                send_rate_per_minute=data.get("send_rate_per_minute") or 0,
                prefill_fields=list(data.get("prefill_fields") or []),
                email_templates=dict(data.get("email_templates") or {}),
            )
            try:
                service.wave_check(user=user, spec=spec, wave=self.instance if self.instance.pk else None)
            except WaveInvalid as exc:
                for key, problems in exc.errors.items():
                    field = "email_templates" if key.startswith("letter_") else key
                    self.add_error(field if field in self.fields else None, problems)
            return data

    return WaveAdminForm
