from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class KeluUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Kelu", {"fields": ("role", "preferred_language")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Kelu", {"fields": ("role", "preferred_language")}))
    list_display = ("username", "email", "role", "is_staff")
    list_filter = ("role", "is_staff", "is_superuser")
