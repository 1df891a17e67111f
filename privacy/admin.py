from django.contrib import admin

from .models import ErasureRecord


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """The proof of erasures, for superusers: read only (made by privacy.services.erase)."""

    list_display = ("id", "account_id", "requested_by", "created_at")
    list_filter = ("requested_by",)
    readonly_fields = ("account_id", "requested_by", "actor_id", "reason", "created_at", "removed", "retained")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
