"""Demo accounts, one per role, with known passwords (local runs only)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token

from .models import Programme, Role, User

DEMO_PROGRAMMES = [
    # slug, name, names
    ("bolashak", "Bolashak", {"kk": "Болашақ", "ru": "Болашак", "en": "Bolashak"}),
    ("serpin-2050", "Serpin-2050", {"kk": "Серпін-2050", "ru": "Серпин-2050", "en": "Serpin-2050"}),
]
DEMO_ACCOUNTS = [
    # username, role, password, is_staff, is_superuser, programme administered
    ("graduate", Role.RESPONDENT, "graduate-demo-2026", False, False, None),
    ("programme-admin", Role.PROGRAMME_ADMIN, "admin-demo-2026", True, False, "bolashak"),
    ("serpin-admin", Role.PROGRAMME_ADMIN, "serpin-demo-2026", True, False, "serpin-2050"),
    ("institution", Role.INSTITUTION_STAFF, "institution-demo-2026", False, False, None),
    ("researcher", Role.RESEARCHER, "researcher-demo-2026", False, False, None),
    ("superuser", Role.RESPONDENT, "superuser-demo-2026", True, True, None),
]
# How the demo's people are called (the graduate is also the registry's Erlan Sadykov).
DEMO_NAMES = {
    "graduate": ("Erlan", "Sadykov"),
    "programme-admin": ("Aliya", "Nurbekova"),
    "serpin-admin": ("Marat", "Ospanov"),
    "institution": ("Gulnara", "Zhakenova"),
    "researcher": ("Timur", "Abenov"),
}
# What programme administrators may open in the Django admin; what they see there is
# limited to their programmes by accounts.scoping.
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
    ("surveys", "view_panel"),
    ("surveys", "add_panel"),
    ("surveys", "change_panel"),
    ("surveys", "view_panelmember"),
    ("surveys", "change_panelmember"),
    ("surveys", "view_respondent"),
    ("surveys", "view_panelimport"),
    ("surveys", "view_invitation"),
    ("surveys", "view_quota"),
    ("surveys", "add_quota"),
    ("surveys", "change_quota"),
    ("surveys", "view_exportjob"),
    ("analytics", "view_researchrequest"),
    ("analytics", "view_researchexport"),
    ("analytics", "view_variablerole"),
    ("analytics", "add_variablerole"),
    ("analytics", "change_variablerole"),
    ("accounts", "view_auditevent"),
    ("diaspora", "view_institution"),
    ("diaspora", "view_expertiserequest"),
    ("diaspora", "change_expertiserequest"),
    ("diaspora", "view_matchrun"),
    ("diaspora", "view_matchingsettings"),
    ("diaspora", "change_matchingsettings"),
    ("diaspora", "view_obligationrule"),
    ("diaspora", "add_obligationrule"),
    ("diaspora", "change_obligationrule"),
    ("diaspora", "view_participation"),
    ("diaspora", "change_participation"),
    ("diaspora", "view_episode"),
    ("diaspora", "add_episode"),
    ("diaspora", "change_episode"),
    ("diaspora", "view_obligationimport"),
    ("analytics", "view_waveanalysis"),
    ("analytics", "change_waveanalysis"),
    ("analytics", "view_aggregationjob"),
    ("analytics", "view_indicatortable"),
    ("analytics", "view_dataset"),
    ("analytics", "view_officialimport"),
    ("analytics", "view_observation"),
    ("analytics", "view_countrygroupscheme"),
    ("analytics", "add_countrygroupscheme"),
    ("analytics", "change_countrygroupscheme"),
    ("analytics", "view_countrygroupmember"),
    ("analytics", "add_countrygroupmember"),
    ("analytics", "change_countrygroupmember"),
    ("analytics", "delete_countrygroupmember"),
]


def demo_programmes() -> dict[str, Programme]:
    programmes = {}
    for slug, name, names in DEMO_PROGRAMMES:
        programmes[slug], _ = Programme.objects.get_or_create(slug=slug, defaults={"name": name, "names": names})
    return programmes


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
    programmes = demo_programmes()
    accounts = []
    for username, role, password, is_staff, is_superuser, programme in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=username)
        user.role, user.is_staff, user.is_superuser = role, is_staff, is_superuser
        user.email = f"{username}@demo.kelu.local"
        user.first_name, user.last_name = DEMO_NAMES.get(username, ("", ""))
        user.set_password(password)
        user.save()
        if role == Role.PROGRAMME_ADMIN:
            user.groups.add(group)
            user.programmes.add(programmes[programme])
        token, _ = Token.objects.get_or_create(user=user)
        accounts.append((user, password, token.key))
    return accounts
