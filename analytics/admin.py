"""Admin pages of analytics: wave analysis plans, aggregation jobs and tables (scoped by
programme like everything else), official data and country groupings (platform-wide,
changed by superusers; a programme's uploaded groupings by its administrators)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.scoping import ProgrammeScopedAdmin, SuperusersChange

from .models import (
    AggregationJob,
    CountryGroupMember,
    CountryGroupScheme,
    Dataset,
    IndicatorTable,
    Observation,
    OfficialImport,
    ResearchExport,
    ResearchRequest,
    VariableRole,
    WaveAnalysis,
)
from .services.aggregation import aggregation_request


@admin.register(WaveAnalysis)
class WaveAnalysisAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "wave__survey__programme"
    list_display = ("wave", "synthetic", "updated_at")
    actions = ["recompute"]

    @admin.action(description=_("Recompute the figures of the selected waves"))
    def recompute(self, request, queryset):
        for plan in queryset.select_related("wave"):
            aggregation_request(plan.wave, user=request.user)
        messages.success(request, _("Recomputation requested."))


class ReadOnly:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(AggregationJob)
class AggregationJobAdmin(ReadOnly, ProgrammeScopedAdmin, admin.ModelAdmin):
    author_fields = ("requested_by",)
    programme_path = "wave__survey__programme"
    list_display = ("wave", "status", "progress", "trigger", "frame_mode", "frame_rows", "created_at", "finished_at")
    list_filter = ("status", "trigger")


@admin.register(IndicatorTable)
class IndicatorTableAdmin(ReadOnly, ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "wave__survey__programme"
    list_display = ("wave", "indicator", "breakdown", "weighting", "computed_at")
    list_filter = ("indicator", "weighting")
    exclude = ("cells",)  # the unsuppressed cells are the platform's own working data


@admin.register(Dataset)
class DatasetAdmin(SuperusersChange, admin.ModelAdmin):
    list_display = ("code", "name", "source_org", "source_type")


@admin.register(OfficialImport)
class OfficialImportAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("dataset", "file_name", "format", "status", "rows", "warnings", "created_at")


@admin.register(Observation)
class ObservationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("indicator_code", "ref_area", "counterpart_area", "flow", "time_period", "obs_value", "obs_status")
    list_filter = ("indicator_code", "flow", "obs_status")
    search_fields = ("indicator_code", "counterpart_area", "time_period")


class CountryGroupMemberInline(admin.TabularInline):
    model = CountryGroupMember
    extra = 0


@admin.register(CountryGroupScheme)
class CountryGroupSchemeAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "programme")
    inlines = [CountryGroupMemberInline]
    author_fields = ("uploaded_by",)

    def save_model(self, request, obj, form, change):
        if not change and obj.uploaded_by_id is None:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ResearchRequest)
class ResearchRequestAdmin(ReadOnly, ProgrammeScopedAdmin, admin.ModelAdmin):
    """Requests are decided on their page (the same service as the API); here they are listed."""

    programme_path = "survey__programme"
    author_fields = ("requested_by", "reviewed_by")
    list_display = ("pk", "survey", "requested_by", "institution", "licence", "status", "created_at", "reviewed_at")
    list_filter = ("status", "licence")
    exclude = ("waves",)


@admin.register(ResearchExport)
class ResearchExportAdmin(ReadOnly, ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "request__survey__programme"
    list_display = ("request", "kind", "status", "progress", "row_count", "created_at", "finished_at", "expires_at")
    list_filter = ("kind", "status")
    exclude = ("file",)  # downloads are the requester's, through the link on their page


@admin.register(VariableRole)
class VariableRoleAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    """An administrator's decision on a variable; saved through the same service as the roles page (audited)."""

    programme_path = "survey__programme"
    author_fields = ("updated_by",)
    list_display = ("survey", "name", "role", "hierarchy", "reviewed", "updated_at")
    list_filter = ("role",)

    def save_model(self, request, obj, form, change):
        from .services.research_roles import RoleError, variable_role_set

        try:
            variable_role_set(survey=obj.survey, name=obj.name, role=obj.role, hierarchy=obj.hierarchy,
                              reviewed=obj.reviewed, user=request.user)  # fmt: skip
        except RoleError as exc:
            messages.error(request, str(exc))
