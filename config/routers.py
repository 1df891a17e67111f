"""Analytics reads go to a PostgreSQL replica when one is configured (DATABASE_REPLICA_URL).

Only the code that asks for it (``with analytics_reads():``, around the frame reads of
aggregation jobs) is routed there: everything else, writes included, stays on the
primary, so a replica's lag never shows on a page that just saved something. Without a
replica the alias is ``default`` and nothing changes.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.conf import settings

REPLICA = "replica"
_reading = contextvars.ContextVar("analytics_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The database alias analytics reads use now."""
    return REPLICA if _reading.get() and replica_configured() else "default"


@contextlib.contextmanager
def analytics_reads() -> Iterator[None]:
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class AnalyticsReplicaRouter:
    """Reads inside ``analytics_reads()`` go to the replica; no migrations run there."""

    def db_for_read(self, model, **hints):
        return REPLICA if _reading.get() and replica_configured() else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
