from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.scoping import ProgrammeScopedAdmin, ScopedInline, SuperusersChange, administered

from . import services
from .models import (
    ExportJob,
    Invitation,
    OutgoingEmail,
    Panel,
    PanelImport,
    PanelMember,
    Quota,
    Respondent,
    Response,
    Survey,
    SurveyVersion,
    Wave,
    WebhookDelivery,
    WebhookEndpoint,
)
from .services.webhooks import webhook_endpoint_saved


class ImportForm(forms.Form):
    file = forms.FileField(help_text="An XLSForm workbook (.xlsx, .xls, .csv or .md).")
    survey = forms.SlugField(required=False, help_text="Survey slug; the form's form_id when left empty.")
    programme = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="The programme a new survey belongs to (a version added to an existing survey stays in its "
        "programme).",
    )
    publish = forms.BooleanField(required=False, initial=True, help_text="Publish the new version at once.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        programmes = administered(user).order_by("slug")
        self.fields["programme"].queryset = programmes
        if user.is_superuser:
            self.fields["programme"].empty_label = "None: platform-wide (superusers only)"
        elif programmes.count() == 1:
            self.fields["programme"].initial = programmes.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.XLSFORM_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {settings.XLSFORM_MAX_BYTES} bytes.")
        return upload


class VersionInline(admin.TabularInline):
    model = SurveyVersion
    fields = ("number", "label", "status", "languages", "created_at", "published_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Survey)
class SurveyAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ("slug", "title", "created_at")
    search_fields = ("slug", "title")
    inlines = [VersionInline]
    change_list_template = "admin/surveys/survey/change_list.html"

    def get_urls(self):
        extra = [path("import/", self.admin_site.admin_view(self.import_view), name="surveys_survey_import")]
        return extra + super().get_urls()

    def import_view(self, request):
        if not (request.user.is_superuser or getattr(request.user, "can_design_surveys", False)):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        result = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.survey_import_xlsform(
                    data=upload.read(),
                    filename=upload.name,
                    survey_slug=form.cleaned_data["survey"] or None,
                    publish=form.cleaned_data["publish"],
                    user=request.user,
                    programme=form.cleaned_data["programme"],
                )
            except services.ImportForbidden as exc:
                form.add_error("survey", str(exc))
            except services.ImportNeedsProgramme as exc:
                form.add_error("programme", str(exc))
            if result is not None and result.version is not None:
                state = "published" if result.version.is_published else "saved as a draft"
                messages.success(request, f"Imported {result.version} ({state}).")
                if not result.report.notes:
                    return redirect(reverse("admin:surveys_survey_change", args=[result.version.survey_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import an XLSForm",
            "form": form,
            "result": result,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/survey/import.html", context)


@admin.register(SurveyVersion)
class SurveyVersionAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "survey__programme"
    list_display = ("survey", "number", "label", "status", "published_at", "preview_link")
    list_select_related = ("survey",)
    list_filter = ("status",)
    readonly_fields = (
        "survey",
        "number",
        "label",
        "title",
        "preview_link",
        "content",
        "content_hash",
        "languages",
        "default_language",
        "status",
        "source_filename",
        "import_notes",
        "created_by",
        "created_at",
        "published_at",
    )
    # The form's content is tens of thousands of characters of JSON: the preview shows it as
    # respondents see it, and the JSON stays behind a collapsed section for whoever needs it.
    fieldsets = (
        (None, {"fields": ("survey", "number", "label", "title", "status", "preview_link")}),
        (
            None,
            {"fields": ("languages", "default_language", "import_notes", "created_by", "created_at", "published_at")},
        ),
        (
            _("Form content (JSON)"),
            {
                "classes": ("collapse",),
                "fields": ("source_filename", "content_hash", "content"),
            },
        ),
    )

    @admin.display(description=_("Preview"))
    def preview_link(self, obj):
        url = reverse("staff:version-preview", args=[obj.survey.slug, obj.number])
        links = [
            format_html('<a href="{}?lang={}" lang="{}">{}</a>', url, code, code, code) for code in obj.languages
        ] or [format_html('<a href="{}">{}</a>', url, _("Preview"))]
        return format_html_join(" · ", "{}", ((link,) for link in links))

    actions = ["publish"]

    def has_add_permission(self, request):
        return False  # versions come from XLSForm imports

    @admin.action(description="Publish the selected draft versions")
    def publish(self, request, queryset):
        for version in queryset.order_by("number"):
            try:
                services.version_publish(version=version)
            except services.PublishRefused as exc:
                self.message_user(request, f"{version}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{version} published.", messages.SUCCESS)


@admin.register(Wave)
class WaveAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    """Waves are made on the staff pages (no JSON there); here the same rules check every save."""

    programme_path = "survey__programme"
    list_display = ("name", "survey", "version", "opens_at", "closes_at", "is_public", "staff_link")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("staff_link",)

    @admin.display(description=_("Settings and letters"))
    def staff_link(self, obj):
        return (
            format_html('<a href="{}">{}</a>', reverse("staff:wave-settings", args=[obj.slug]), obj.slug)
            if obj.pk
            else "—"
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        from .views.fieldwork import wave_admin_form

        kwargs["form"] = wave_admin_form(request.user)
        return super().get_form(request, obj, change, **kwargs)


@admin.register(Response)
class ResponseAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "survey__programme"
    list_display = ("instance_id", "survey", "version", "status", "created_at")
    list_filter = ("status", "survey")
    readonly_fields = [f.name for f in Response._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Respondent)
class RespondentAdmin(SuperusersChange, ProgrammeScopedAdmin, admin.ModelAdmin):
    """A respondent is one address shared by every programme's panels: what one programme holds about
    them (name, language, ids, attributes) lives on its panel memberships. Only superusers change the
    shared record, so no programme can alter another's."""

    programme_path = "memberships__panel__programme"
    list_display = ("email", "opted_out_at")
    search_fields = ("email",)

    def get_fields(self, request, obj=None):
        # When the record was made and which account it is linked to tell of other programmes.
        return super().get_fields(request, obj) if request.user.is_superuser else ["email", "opted_out_at"]


class PanelMemberInline(ScopedInline, admin.TabularInline):
    """A panel's members and what this programme holds about them; members are added by imports
    (an id typed into a form would name people of other programmes' panels)."""

    model = PanelMember
    fields = ("respondent", "name", "language", "external_ids", "attributes")
    readonly_fields = ("respondent",)
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Panel)
class PanelAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "programme")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [PanelMemberInline]


@admin.register(PanelImport)
class PanelImportAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "panel__programme"
    list_display = ("panel", "filename", "added", "updated", "skipped", "created_at")
    readonly_fields = ("panel", "filename", "created_by", "created_at", "added", "updated", "skipped", "report")


@admin.register(Invitation)
class InvitationAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "wave__survey__programme"
    list_display = ("wave", "respondent", "status", "sent_at", "completed_at")
    list_filter = ("status", "wave")
    exclude = ("token_nonce", "token_hash")
    raw_id_fields = ("respondent", "response")


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "invitation__wave__survey__programme"
    list_display = ("invitation", "sequence", "status", "due_at", "sent_at", "attempts")
    list_filter = ("status",)


@admin.register(Quota)
class QuotaAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "wave__survey__programme"
    list_display = ("wave", "name", "cap", "closed_at")


@admin.register(ExportJob)
class ExportJobAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "wave__survey__programme"
    list_display = ("wave", "format", "language", "status", "progress", "created_at")
    list_filter = ("status", "format")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "survey__programme"
    list_display = ("survey", "url", "is_active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        webhook_endpoint_saved(endpoint=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    programme_path = "endpoint__survey__programme"
    list_display = ("endpoint", "event", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event")
