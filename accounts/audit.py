"""The audit log: one call that every service uses to record a step of a controlled workflow.

Recorded: every export (asked for and downloaded), every staff read of an identifiable record
(a registry profile, a programme participant, a survey response), every change of who may do
what (role, staff and superuser flags, programmes, groups, permissions, programmes
themselves) and every sign-in, failed or not. The table is append-only: on PostgreSQL a
trigger refuses UPDATE and DELETE for every role the application connects as (migration
accounts 0005); rows keep the actor's id even after the account is gone.

Who acts is taken from the request being served (`AuditActorMiddleware`) when a change
arrives through a signal that does not know it (the admin's many-to-many edits).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db.models import Model

from .models import AuditEvent, User

_request: ContextVar[Any] = ContextVar("kelu_audit_request", default=None)


def audit_record(
    *, actor: User | None, action: str, target: Model, programme_id: int | None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Record that `actor` (None: the system) did `action` to `target`."""
    label = f"{target._meta.label}:{target.pk}"
    user = actor if actor is not None and actor.is_authenticated else None
    detail = dict(detail or {})
    request = _request.get()
    if request is not None and "address" not in detail:
        from .lockout import client_address  # the proxy-aware rule the lockout and throttles use

        detail["address"] = client_address(request)
    return AuditEvent.objects.create(actor=user, action=action, target=label, programme_id=programme_id, detail=detail)


def audit_read(*, viewer: User, record: Model, programme_id: int | None = None) -> None:
    """A member of staff (superuser, programme administrator, institution staff) opened an
    identifiable record; the record's own person and other members are not logged."""
    from .models import Role

    if not viewer.is_authenticated or not (
        viewer.is_superuser or viewer.role in (Role.PROGRAMME_ADMIN, Role.INSTITUTION_STAFF)
    ):
        return
    audit_record(actor=viewer, action=f"read.{record._meta.model_name}", target=record, programme_id=programme_id)


def current_actor() -> User | None:
    request = _request.get()
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class AuditActorMiddleware:
    """Makes the request being served known to audit records made by signals."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def audit_trail(target: Model):
    """The events of one object, oldest first."""
    return (
        AuditEvent.objects.filter(target=f"{target._meta.label}:{target.pk}")
        .select_related("actor")
        .order_by("at", "id")
    )
