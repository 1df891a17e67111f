"""Back-office screens. People are listed through the same selector as everywhere else, so
a hidden profile or a withdrawn consent does not appear here either."""

from django import forms
from django.contrib import admin

from accounts.scoping import ProgrammeScopedAdmin, SuperusersChange

from .matching.types import DEFAULT_WEIGHTS
from .models import ExpertiseRequest, Institution, Match, MatchingSettings, MatchRun, Person
from .selectors import people_listed_for


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
