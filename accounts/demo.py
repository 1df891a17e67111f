"""Demo accounts, one per role, with known passwords (local runs only)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token

from .models import Role, User

DEMO_ACCOUNTS = [
    # username, role, password, is_staff, is_superuser
    ("graduate", Role.RESPONDENT, "graduate-demo-2026", False, False),
    ("programme-admin", Role.PROGRAMME_ADMIN, "admin-demo-2026", True, False),
    ("institution", Role.INSTITUTION_STAFF, "institution-demo-2026", False, False),
    ("researcher", Role.RESEARCHER, "researcher-demo-2026", False, False),
    ("superuser", Role.RESPONDENT, "superuser-demo-2026", True, True),
]
PROGRAMME_ADMIN_PERMISSIONS = [
    ("surveys", "view_survey"),
    ("surveys", "add_survey"),
    ("surveys", "change_survey"),
    ("surveys", "view_surveyversion"),
    ("surveys", "change_surveyversion"),
    ("surveys", "view_wave"),
    ("surveys", "add_wave"),
    ("surveys", "change_wave"),
    ("surveys", "view_response"),
]


def programme_admin_group() -> Group:
    group, _ = Group.objects.get_or_create(name="Programme administrators")
    perms = [
        Permission.objects.get(content_type__app_label=app, codename=code) for app, code in PROGRAMME_ADMIN_PERMISSIONS
    ]
    group.permissions.set(perms)
    return group


def demo_accounts() -> list[tuple[User, str, str]]:
    """Create or reset the demo accounts; returns (user, password, API token)."""
    group = programme_admin_group()
    accounts = []
    for username, role, password, is_staff, is_superuser in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.role, user.is_staff, user.is_superuser = role, is_staff, is_superuser
        user.email = f"{username}@demo.kelu.local"
        user.set_password(password)
        user.save()
        if role == Role.PROGRAMME_ADMIN:
            user.groups.add(group)
        token, _ = Token.objects.get_or_create(user=user)
        accounts.append((user, password, token.key))
    return accounts
