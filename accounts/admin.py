from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import AuditEvent, Programme, Role, User
from .scoping import ProgrammeScopedAdmin, SuperusersChange, is_programme_admin


@admin.register(User)
class KeluUserAdmin(UserAdmin):
    """Superusers link users to the programmes they administer here."""

    fieldsets = (*UserAdmin.fieldsets, ("Kelu", {"fields": ("role", "preferred_language", "programmes")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Kelu", {"fields": ("role", "preferred_language", "programmes")}))
    list_display = ("username", "email", "role", "is_staff")
    list_filter = ("role", "is_staff", "is_superuser", "programmes")
    filter_horizontal = (*UserAdmin.filter_horizontal, "programmes")


@admin.register(Programme)
class ProgrammeAdmin(SuperusersChange, ProgrammeScopedAdmin, admin.ModelAdmin):
    """Superusers create programmes and name their administrators; an administrator sees their
    programmes and who else administers them."""

    programme_path = "pk"
    list_display = ("name", "slug", "administrator_names")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("administrator_names",)

    @admin.display(description="Administrators")
    def administrator_names(self, programme: Programme) -> str:
        admins = programme.administrators.filter(role=Role.PROGRAMME_ADMIN).order_by("username")
        return ", ".join(a.get_full_name() or a.username for a in admins) or "—"

    def has_view_permission(self, request, obj=None):
        return is_programme_admin(request.user) and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(AuditEvent)
class AuditEventAdmin(ProgrammeScopedAdmin, admin.ModelAdmin):
    """The audit log: read by the administrators of the programme an event concerns; never changed."""

    list_display = ("at", "action", "target", "actor", "programme")
    list_filter = ("action",)
    search_fields = ("action", "target")
    author_fields = ("actor",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
