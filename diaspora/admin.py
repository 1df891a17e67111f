"""Back-office screens. People are listed through the same selector as everywhere else, so
a hidden profile or a withdrawn consent does not appear here either."""

from django import forms
from django.contrib import admin
from django.utils import timezone

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


class WeightsForm(forms.ModelForm):
    class Meta:
        model = MatchingSettings
        fields = ["programme", "weights", "offer_days"]
        help_texts = {
            "weights": "Weights of the score components (any non-negative numbers; they are normalised): "
            + ", ".join(f"{k} (default {v})" for k, v in DEFAULT_WEIGHTS.items())
            + ". Missing components weigh 0; an empty object means the defaults.",
        }

    def clean_weights(self):
        weights = self.cleaned_data["weights"] or {}
        if not isinstance(weights, dict):
            raise forms.ValidationError('Give an object such as {"skills": 0.4, "text": 0.3}.')
        unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise forms.ValidationError(f"Unknown component: {', '.join(unknown)}.")
        for name, value in weights.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise forms.ValidationError(f"{name}: a weight is a number of at least 0.")
        if weights and not any(weights.values()):
            raise forms.ValidationError("At least one weight must be above 0.")
        return weights


@admin.register(MatchingSettings)
class MatchingSettingsAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    form = WeightsForm
    list_display = ["__str__", "offer_days"]


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
