"""The audit log records sign-ins, changes of rights, staff reads of identifiable records and
exports; on PostgreSQL the application cannot change or delete a row of it."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.models import AuditEvent, Programme, Role, User
from tests.diaspora.people import expert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _actions(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_every_sign_in_is_recorded_failed_or_not():
    user = UserFactory(username="amina", role=Role.PROGRAMME_ADMIN, is_staff=True)
    Client().post("/accounts/login/", {"username": "amina", "password": "wrong"}, REMOTE_ADDR="203.0.113.4")
    Client().post("/accounts/login/", {"username": "amina", "password": PASSWORD}, REMOTE_ADDR="203.0.113.4")
    Client().post("/admin/login/", {"username": "amina", "password": PASSWORD})
    token = Client().post(
        "/api/v1/auth/token/", {"username": "amina", "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 200
    signins = _actions(target=f"accounts.User:{user.pk}", action__startswith="login")
    assert signins == ["login.failed", "login", "login", "login.token"]
    failed = AuditEvent.objects.get(action="login.failed")
    # The account is named by its id (the target), not by the name typed: an erased account's
    # name must be nowhere in a log that cannot be changed. A name of no account is kept as typed.
    assert failed.actor is None and failed.target == f"accounts.User:{user.pk}" and "username" not in failed.detail
    assert failed.detail["address"] == "203.0.113.4"
    Client().post("/accounts/login/", {"username": "no-such-name", "password": "wrong"})
    unknown = AuditEvent.objects.filter(action="login.failed").first()
    assert unknown.detail["username"] == "no-such-name" and unknown.target == "accounts.User:None"


def test_changes_of_rights_name_who_made_them():
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    bolashak = Programme.objects.create(slug="bolashak", name="Bolashak")
    user = UserFactory(username="nurlan")
    admin = Client()
    admin.force_login(root)
    page = admin.get(f"/admin/accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {
        "role": Role.PROGRAMME_ADMIN,
        "is_staff": "on",
        "is_active": "on",
        "programmes": [bolashak.pk],
        "groups": [],
        "user_permissions": [],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    data = {k: v for k, v in data.items() if k not in ("last_login", "date_joined")}
    response = admin.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    rights = AuditEvent.objects.get(action="user.rights", target=f"accounts.User:{user.pk}")
    assert rights.actor == root
    assert rights.detail["role"] == ["respondent", "programme_admin"] and rights.detail["is_staff"] == [False, True]
    programmes = AuditEvent.objects.get(action="rights.programmes", target=f"accounts.User:{user.pk}")
    assert programmes.actor == root and programmes.detail["ids"] == [bolashak.pk]
    assert programmes.programme_id == bolashak.pk
    assert "programme.created" in _actions(target=f"accounts.Programme:{bolashak.pk}")


def test_a_staff_read_of_a_profile_is_recorded_and_the_owners_own_is_not():
    from diaspora.services.requests import institution_create

    member = expert("erlan-member", visibility={"profile": "public"})
    staff = UserFactory(username="staff", role=Role.INSTITUTION_STAFF)
    institution_create(name="Toraighyrov University", kind="university", region="KZ-55", staff=[staff])
    page = Client()
    page.force_login(staff)
    assert page.get(f"/registry/people/{member.pk}/").status_code == 200
    api = Client()
    api.force_login(staff)
    assert api.get(f"/api/v1/registry/people/{member.pk}/").status_code == 200
    own = Client()
    own.force_login(member.user)
    own.get(f"/registry/people/{member.pk}/")
    reads = AuditEvent.objects.filter(action="read.person", target=f"diaspora.Person:{member.pk}")
    assert [event.actor for event in reads] == [staff, staff]


def test_a_directory_export_is_recorded_with_its_filters_and_size():
    expert("erlan-member")
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    page = Client()
    page.force_login(root)
    assert page.get("/registry/people/export.csv?skill=hydrology").status_code == 200
    event = AuditEvent.objects.get(action="export.directory")
    assert event.actor == root and event.detail["filters"] == {"skill": "hydrology"} and event.detail["rows"] == 1


@pytest.mark.postgres
def test_the_application_cannot_change_or_delete_an_audit_row():
    user = UserFactory(username="amina")
    event = AuditEvent.objects.create(actor=user, action="login", target=f"accounts.User:{user.pk}")
    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action="nothing happened"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
        lambda: connection.cursor().execute("UPDATE accounts_auditevent SET detail = '{}'"),
        lambda: connection.cursor().execute("DELETE FROM accounts_auditevent"),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get(pk=event.pk).action == "login"
    # an account that is deleted leaves its events as they were (no row is updated)
    User.objects.filter(pk=user.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_id == user.pk
