"""A wave's question summaries from a kept tally, brought up to date by its data version.

The per-question summaries were computed from every answer of the wave on every view (half
a second at 20,000 responses). Now a tally of them (``summaries.AnswerTally``: counts, the
numbers given with their counts, the latest texts; no labels) is kept in the cache per wave and
status, with the wave's data version it was made at (``WaveDataVersion``, kept by database
triggers, so a response stored, changed or removed on any path moves it). A view reads that
version (one row by its key): when it is the tally's, the tally is used as it is and no response
is read. Otherwise:

- complete responses are final, so the tally of the complete ones is brought forward by adding
  the responses written after its version, read through the (wave, data_version) index; when a
  complete response changed or left since (``resets`` moved) or the wave's fields changed, it is
  made again from every complete response;
- the tallies of partial responses (or of all) are made again from their rows when the version
  moved (partial answers change as respondents go).

The version and the rows are read in one snapshot (REPEATABLE READ on PostgreSQL), and the
versions are handed out in commit order, so a tally is never behind the version it is stored
with: a new response shows at the next view.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Response, SurveyVersion, Wave, WaveDataVersion
from .summaries import AnswerTally, MergedField, merged_fields, tally_answers

logger = logging.getLogger(__name__)

COMPLETE = Response.Status.COMPLETE
CACHE_SECONDS = 7 * 24 * 3600  # a tally not viewed for a week is made again when asked for
CHUNK = 2000


@dataclass(frozen=True)
class DataVersion:
    version: int
    resets: int


@dataclass
class KeptTally:
    """A tally with what it was made from: the wave's data version and the versions answered."""

    tally: AnswerTally
    data: DataVersion
    version_ids: list[int]
    fields_key: str


def wave_data_version(wave: Wave) -> DataVersion:
    """Where the wave's responses stand (one row read by its key; 0 before any was written)."""
    row = WaveDataVersion.objects.filter(wave_id=wave.pk).values_list("version", "resets").first()
    return DataVersion(*row) if row else DataVersion(0, 0)


def with_response_counts(waves: QuerySet[Wave], *, complete: str = "", partial: str = "") -> QuerySet[Wave]:
    """`waves` annotated with their numbers of complete and/or partial responses (named by the
    arguments), read from the counts the database keeps, not by counting every response."""
    counts = WaveDataVersion.objects.filter(wave_id=OuterRef("pk"))
    named = {name: field for name, field in ((complete, "complete"), (partial, "partial")) if name}
    return waves.annotate(
        **{name: Coalesce(Subquery(counts.values(field)[:1]), Value(0)) for name, field in named.items()}
    )


def _cache_key(wave: Wave, status: str) -> str:
    # The wave's creation time too: a wave made again under the same id (a database made
    # afresh, a test's rolled-back rows) is not taken for the one the tally was made from.
    return f"surveys:summaries:v1:{wave.pk}:{wave.created_at.timestamp():.6f}:{status or 'all'}"


def _answered_version_ids(wave: Wave) -> list[int]:
    """The wave's version and every version its responses were given on, newest first."""
    from .selectors_admin import wave_versions  # the one definition of a wave's versions

    return [version.pk for version in wave_versions(wave)]


def _versions(version_ids: list[int]) -> list[SurveyVersion]:
    by_id = SurveyVersion.objects.in_bulk(version_ids)
    return [by_id[pk] for pk in version_ids if pk in by_id]


def _fields_key(fields: list[MergedField]) -> str:
    """Changes when a field is added or changes type or repeat (the tally then counts differently)."""
    shape = [(f.name, f.type, f.repeat) for f in fields]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def _rows(wave: Wave, status: str, after: int | None = None):
    responses = Response.objects.filter(wave=wave)
    if status:
        responses = responses.filter(status=status)
    if after is not None:
        responses = responses.filter(data_version__gt=after)
    return responses.order_by().values_list("id", "answers").iterator(chunk_size=CHUNK)


@contextlib.contextmanager
def _one_snapshot() -> Iterator[None]:
    """The data version and the rows read after it in one snapshot."""
    if connection.in_atomic_block:
        # A caller's transaction (a test, a service): the isolation level can be set only by a
        # transaction's first statement, and the caller's reads come first.
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _brought_up_to_date(wave: Wave, status: str, kept: KeptTally | None) -> KeptTally:
    with _one_snapshot():
        data = wave_data_version(wave)
        version_ids = _answered_version_ids(wave)
        fields = merged_fields([v.instrument for v in _versions(version_ids)], "en")
        fields_key = _fields_key(fields)
        if (
            kept is not None
            and status == COMPLETE
            and kept.fields_key == fields_key
            and kept.data.resets == data.resets
            and kept.data.version <= data.version
        ):
            # Only responses written after the kept version are new to it: a complete response
            # counted before cannot have changed without moving `resets`.
            tally = tally_answers(fields, _rows(wave, status, after=kept.data.version), kept.tally)
        else:
            tally = tally_answers(fields, _rows(wave, status))
    return KeptTally(tally, data, version_ids, fields_key)


def tally_forget(wave: Wave) -> None:
    """Drop the wave's kept tallies (an erasure: the latest text answers they hold must go now,
    not at the next view)."""
    for status in ("", *Response.Status.values):
        try:
            cache.delete(_cache_key(wave, status))
        except Exception:  # the cache is down: nothing can be read from it either; it expires
            logger.warning("summaries: could not drop the tallies of wave %s", wave.pk, exc_info=True)


def wave_answer_tally(wave: Wave, status: str = "") -> KeptTally:
    """The tally of the wave's responses of `status` ("" for all) as they stand now."""
    key = _cache_key(wave, status)
    try:
        kept: KeptTally | None = cache.get(key)
    except Exception:  # the cache (Redis) is down: the page is made from the rows, only slower
        logger.warning("summaries: the cache could not be read; tallying wave %s afresh", wave.pk, exc_info=True)
        kept = None
    if kept is not None and kept.data == wave_data_version(wave):
        return kept
    kept = _brought_up_to_date(wave, status, kept)
    try:
        cache.set(key, kept, CACHE_SECONDS)
    except Exception:  # as above: the next view tallies again
        logger.warning("summaries: the cache could not be written for wave %s", wave.pk, exc_info=True)
    return kept


def wave_tally_fields(kept: KeptTally, language: str) -> list[MergedField]:
    """The fields of the versions the tally was made over, labelled in `language`."""
    return merged_fields([v.instrument for v in _versions(kept.version_ids)], language)
