"""Audit records for sign-ins and for every change of who may do what (accounts/audit.py)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from .audit import audit_record, current_actor
from .models import Programme, User

WATCHED = ("role", "is_staff", "is_superuser", "is_active")


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="login", target=user, programme_id=None, detail={"path": request.path})


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str((credentials or {}).get("username", ""))[:150]
    found = User.objects.filter(username=username).first()
    path = getattr(request, "path", "")
    # An account's failures name it by id (the target); only a name that matches no account is
    # kept as typed (to see guessing), so an erased account's name is nowhere in the log.
    detail = {"path": path} if found else {"username": username, "path": path}
    audit_record(actor=None, action="login.failed", target=found or User(pk=None), programme_id=None, detail=detail)


def _touches_rights(update_fields) -> bool:
    # a save of other fields only (last_login at every sign-in) needs no look at the row
    return update_fields is None or bool(set(update_fields) & set(WATCHED))


@receiver(pre_save, sender=User)
def _remember_rights(sender, instance: User, update_fields=None, **kwargs) -> None:
    if instance.pk and _touches_rights(update_fields):
        before = User.objects.filter(pk=instance.pk).values(*WATCHED).first()
        instance._audit_before = before


@receiver(post_save, sender=User)
def _rights_changed(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    if not created and not _touches_rights(update_fields):
        return
    before = getattr(instance, "_audit_before", None) or {}
    changes = {
        name: [before.get(name), getattr(instance, name)]
        for name in WATCHED
        if created or before.get(name) != getattr(instance, name)
    }
    if created:
        audit_record(actor=current_actor(), action="user.created", target=instance, programme_id=None, detail=changes)
    elif changes:
        audit_record(actor=current_actor(), action="user.rights", target=instance, programme_id=None, detail=changes)


def _m2m_logged(kind: str):
    def changed(sender, instance, action, pk_set, **kwargs) -> None:
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        detail = {"change": action[5:], "ids": sorted(pk_set or [])}
        programme_id = None
        if kind == "programmes" and pk_set and len(pk_set) == 1:
            programme_id = next(iter(pk_set)) if isinstance(instance, User) else instance.pk
        audit_record(actor=current_actor(), action=f"rights.{kind}", target=instance, programme_id=programme_id,
                     detail=detail)  # fmt: skip

    return changed


def connect() -> None:
    m2m_changed.connect(_m2m_logged("programmes"), sender=User.programmes.through, weak=False)
    m2m_changed.connect(_m2m_logged("groups"), sender=User.groups.through, weak=False)
    m2m_changed.connect(_m2m_logged("permissions"), sender=User.user_permissions.through, weak=False)
    m2m_changed.connect(_m2m_logged("group_permissions"), sender=Group.permissions.through, weak=False)


@receiver(post_save, sender=Programme)
def _programme_saved(sender, instance: Programme, created: bool, **kwargs) -> None:
    action = "programme.created" if created else "programme.changed"
    audit_record(actor=current_actor(), action=action, target=instance, programme_id=instance.pk,
                 detail={"slug": instance.slug, "name": instance.name})  # fmt: skip


@receiver(post_delete, sender=Programme)
def _programme_deleted(sender, instance: Programme, **kwargs) -> None:
    audit_record(actor=current_actor(), action="programme.deleted", target=instance, programme_id=None,
                 detail={"slug": instance.slug, "name": instance.name})  # fmt: skip
