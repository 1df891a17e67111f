"""Back-office screens. People are listed through the same selector as everywhere else, so
a hidden profile or a withdrawn consent does not appear here either."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.scoping import ProgrammeScopedAdmin, ScopedInline, SuperusersChange, in_programmes

from .matching.types import DEFAULT_WEIGHTS
from .models import (
    Episode,
    ExpertiseRequest,
    Institution,
    Match,
    MatchingSettings,
    MatchRun,
    ObligationImport,
    ObligationPause,
    ObligationRule,
    Participation,
    Person,
    StatusChange,
)
from .selectors import people_listed_for
from .services import obligations


@admin.register(Institution)
class InstitutionAdmin(SuperusersChange, ProgrammeScopedAdmin, admin.ModelAdmin):
    """Superusers manage institutions, their staff and the programmes they take part in; a programme's
    administrators see the institutions of their programmes."""

    programme_path = "programmes"
    list_display = ["name", "kind", "region", "city"]
    list_filter = ["kind", "region"]
    search_fields = ["name", "city"]
    filter_horizontal = ["staff", "programmes"]

    def get_fields(self, request, obj=None):
        # Its staff accounts and the other programmes it takes part in are not a programme's business.
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields if f not in ("staff", "programmes")]


@admin.register(ExpertiseRequest)
class ExpertiseRequestAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ["title", "institution", "mode", "experts_needed", "status", "created_at"]
    list_filter = ["status", "mode", "format"]
    search_fields = ["title", "topic", "institution__name"]
    readonly_fields = ["created_by", "created_at", "updated_at"]


COMPONENT_HELP = {
    "skills": _("Share of the requested skills the expert has."),
    "field": _("Same field of study (1), or the same broad field (0.5)."),
    "text": _("How alike the request's topic and the profile's text are, across kk, ru and en."),
    "language": _("Share of the requested languages the expert speaks."),
    "region": _("The expert has ties to the request's region (hidden from those who may not see it)."),
    "timezone": _("Overlap of the two working days (09:00-18:00 local)."),
}


class WeightsForm(forms.ModelForm):
    """One number per score component (stored together as `weights`), and a sample request on
    which "Preview" shows what the weights do before they are saved."""

    sample_request = forms.ModelChoiceField(
        queryset=ExpertiseRequest.objects.none(),
        required=False,
        label=_("Sample request"),
        help_text=_("An open request to preview the weights on (not saved)."),
    )

    class Meta:
        model = MatchingSettings
        fields = ["programme", "skills_first", "offer_days"]

    def __init__(self, *args, requests=None, **kwargs):
        from .selectors_matching import saved_weights
        from .views.display import COMPONENT_LABELS

        super().__init__(*args, **kwargs)
        # What the matching uses now: a component missing from a saved row weighs 0.
        saved = saved_weights(self.instance if self.instance.pk else None)
        for name in DEFAULT_WEIGHTS:
            default = gettext("Default %(value)s; weights are normalised to sum to 1.") % {
                "value": DEFAULT_WEIGHTS[name]
            }
            self.fields[f"weight_{name}"] = forms.FloatField(
                label=gettext("Weight: %(name)s") % {"name": COMPONENT_LABELS[name]},
                min_value=0,
                max_value=100,
                initial=saved.get(name, 0.0),
                help_text=f"{COMPONENT_HELP[name]} {default}",
            )
        if requests is not None:
            self.fields["sample_request"].queryset = requests

    def clean(self):
        cleaned = super().clean()
        weights = {name: cleaned.get(f"weight_{name}") for name in DEFAULT_WEIGHTS}
        if all(value is not None for value in weights.values()) and not any(weights.values()):
            raise forms.ValidationError(_("At least one weight must be above 0."))
        cleaned["weights"] = {name: float(value) for name, value in weights.items() if value is not None}
        return cleaned

    def save(self, commit=True):
        self.instance.weights = self.cleaned_data["weights"]
        return super().save(commit)


@admin.register(MatchingSettings)
class MatchingSettingsAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    form = WeightsForm
    list_display = ["__str__", "skills_first", "offer_days"]
    change_form_template = "admin/diaspora/matchingsettings/change_form.html"

    def get_fields(self, request, obj=None):
        weights = [f"weight_{name}" for name in DEFAULT_WEIGHTS]
        return ["programme", *weights, "skills_first", "offer_days", "sample_request"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = WeightsForm.Meta.fields  # the weight fields are added by the form itself
        base = super().get_form(request, obj, change=change, **kwargs)
        requests = _open_requests_for(request.user, obj)
        preview = getattr(request, "_weights_preview", None)

        class Form(base):
            def __init__(self, *args, **form_kwargs):
                form_kwargs["requests"] = requests
                if preview is not None and not args and "data" not in form_kwargs:
                    # After "Preview" (see changeform_view) the page shows the posted values,
                    # not the saved ones (an unticked box is absent from a post: False).
                    posted = {**preview.dict(), "skills_first": "skills_first" in preview}
                    form_kwargs["initial"] = {**form_kwargs.get("initial", {}), **posted}
                super().__init__(*args, **form_kwargs)

        return Form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if request.method == "POST" and "_preview" in request.POST:
            # "Preview" posts the form (CSRF-checked) but saves nothing: the page is rendered
            # as for viewing, with the posted values in the fields and the preview below.
            obj = self.get_object(request, object_id) if object_id else None
            if object_id and (obj is None or not self.has_change_permission(request, obj)):
                return super().changeform_view(request, object_id, form_url, extra_context)
            form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
            extra_context["preview"] = _preview(request.user, form)
            request._weights_preview, request.method = request.POST.copy(), "GET"
        extra_context["components"] = list(DEFAULT_WEIGHTS)
        return super().changeform_view(request, object_id, form_url, extra_context)


def _open_requests_for(user, settings_row):
    from .selectors import requests_visible_to

    requests = requests_visible_to(user).filter(status=ExpertiseRequest.Status.OPEN)
    if settings_row is not None and settings_row.programme_id:
        requests = requests.filter(programme_id=settings_row.programme_id)
    return requests.order_by("-created_at")


def _preview(user, form) -> dict:
    """What the preview box shows: the rows, or why there are none (each field's error named)."""
    from .services.matching import weights_preview
    from .views.display import COMPONENT_LABELS

    if not form.is_valid():
        problems = [
            f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
            for name, errors in form.errors.items()
        ]
        return {"error": _("Correct these to preview:"), "problems": problems}
    sample = form.cleaned_data.get("sample_request") or form.fields["sample_request"].queryset.first()
    if sample is None:
        return {"error": _("There is no open request to preview on.")}
    rows = weights_preview(
        viewer=user,
        request=sample,
        weights=form.cleaned_data["weights"],
        skills_first=form.cleaned_data["skills_first"],
    )
    return {"request": sample, "rows": rows, "labels": [COMPONENT_LABELS[name] for name in DEFAULT_WEIGHTS]}


@admin.register(MatchRun)
class MatchRunAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ["key", "kind", "status", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in MatchRun._meta.fields]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["display_name", "country", "status", "last_confirmed_at"]
    list_filter = ["status"]
    search_fields = ["display_name"]
    readonly_fields = [f.name for f in Person._meta.fields]

    def get_queryset(self, request):
        return people_listed_for(request.user)

    def has_add_permission(self, request):
        return False  # people join themselves (or from a survey), giving their own consent


@admin.register(Match)
class MatchAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "request__programme"
    list_display = ["request", "person", "status", "score", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Match._meta.fields]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(person__in=people_listed_for(request.user))


# --------------------------------------------------------------------------- work obligations
# Saves go through diaspora.services.obligations (the checks and the recompute live there).


class RuleForm(forms.ModelForm):
    class Meta:
        model = ObligationRule
        fields = ["programme", "version", "name", "adopted_on", "cohorts_from", "cohorts_to", "months_required",
                  "window_months", "grace_months", "countries", "regions", "specialty_required", "notes"]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        probe = ObligationRule(
            **{k: v for k, v in cleaned.items() if k in {f.name for f in ObligationRule._meta.fields}}
        )
        for field, message in obligations.rule_problems(probe).items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(ObligationRule)
class ObligationRuleAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    form = RuleForm
    list_display = ["programme", "version", "name", "cohorts_from", "cohorts_to", "months_required", "window_months"]
    list_filter = ["programme"]

    def save_model(self, request, obj, form, change):
        obligations.rule_save(obj)


class EpisodeInline(ScopedInline, admin.TabularInline):
    model = Episode
    extra = 0
    can_delete = False
    fields = ["kind", "start", "end", "country", "region", "employer", "source", "review", "conflict"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # episodes are added on their own page, through the service


class PauseInline(ScopedInline, admin.TabularInline):
    model = ObligationPause
    extra = 0
    can_delete = False
    fields = ["kind", "start", "end", "reason", "evidence", "granted_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class HistoryInline(ScopedInline, admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    fields = ["changed_on", "old_status", "new_status", "reason", "months_served"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Participation)
class ParticipationAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ["full_name", "external_id", "programme", "cohort", "status", "months_served", "at_risk"]
    list_filter = ["programme", "cohort", "status", "at_risk"]
    search_fields = ["full_name", "external_id", "email"]
    readonly_fields = [*obligations.DERIVED, "computed_hash", "link_candidates", "created_at"]
    raw_id_fields = ["person", "respondent"]
    inlines = [EpisodeInline, PauseInline, HistoryInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Links to people are made by the import's matching or by choosing a listed candidate on the
        # participant's page; only superusers point one at any account.
        return fields if request.user.is_superuser else [*fields, "person", "respondent"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rule":
            kwargs["queryset"] = in_programmes(ObligationRule.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class Checked(form):
            def clean(self):
                cleaned = super().clean()
                rule, programme = cleaned.get("rule"), cleaned.get("programme") or (obj.programme if obj else None)
                if rule is not None and programme is not None and rule.programme_id != programme.pk:
                    self.add_error("rule", "The rule belongs to another programme.")
                for name in ("graduation_date", "obligation_start"):
                    value = cleaned.get(name)
                    if value is not None and not 1990 <= value.year <= timezone.localdate().year + 10:
                        self.add_error(name, "The date is out of range.")
                return cleaned

        return Checked

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        obligations.participation_recompute(obj)


class EpisodeForm(forms.ModelForm):
    class Meta:
        model = Episode
        fields = ["participation", "kind", "start", "end", "country", "region", "employer", "occupation",
                  "specialty_related", "source", "document"]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        try:
            obligations.episode_values(cleaned)
        except obligations.ObligationError as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned


@admin.register(Episode)
class EpisodeAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = Episode.programme_path
    form = EpisodeForm
    list_display = ["participation", "kind", "start", "end", "country", "region", "source", "review", "conflict"]
    list_filter = ["kind", "source", "review"]
    search_fields = ["participation__full_name", "participation__external_id", "employer"]
    raw_id_fields = ["participation"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "participation":
            kwargs["queryset"] = in_programmes(Participation.objects.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def delete_model(self, request, obj):
        participation = obj.participation
        super().delete_model(request, obj)
        obligations.participation_recompute(participation)

    def delete_queryset(self, request, queryset):
        touched = list(queryset.order_by().values_list("participation_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        obligations.obligations_recompute(Participation.objects.filter(pk__in=touched))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        obligations.episode_record(
            data["participation"], data, source=data["source"], user=request.user,
            document=data.get("document") if "document" in form.changed_data else None,
            episode=obj if change else None,
        )  # fmt: skip


@admin.register(ObligationImport)
class ObligationImportAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ["filename", "programme", "kind", "applied", "added", "updated", "flagged", "errors", "created_at"]
    list_filter = ["kind", "applied"]
    readonly_fields = [f.name for f in ObligationImport._meta.fields]

    def has_add_permission(self, request):
        return False  # files come in through the programme's participants page
