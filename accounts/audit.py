"""The audit log: one call that every service uses to record a step of a controlled workflow."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from .models import AuditEvent, User


def audit_record(
    *, actor: User | None, action: str, target: Model, programme_id: int | None, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Record that `actor` (None: the system) did `action` to `target`."""
    label = f"{target._meta.label}:{target.pk}"
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user, action=action, target=label, programme_id=programme_id, detail=detail or {}
    )


def audit_trail(target: Model):
    """The events of one object, oldest first."""
    return (
        AuditEvent.objects.filter(target=f"{target._meta.label}:{target.pk}")
        .select_related("actor")
        .order_by("at", "id")
    )
