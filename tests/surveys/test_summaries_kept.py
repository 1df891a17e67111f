"""The staff question summaries are kept as a tally brought up to date by the wave's data version:
a new, changed or removed response shows at the next view, and a view with nothing new reads no
response."""

import random
import statistics
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Programme
from surveys.models import Response, WaveDataVersion
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.selectors_admin import wave_fields
from surveys.summaries import MergedField, summaries_from_tally, summarise_answers, tally_answers
from tests.surveys.test_staff import fieldwork
from tests.surveys.test_staff_pages import _admin, answer

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]


@pytest.fixture
def programme():
    return Programme.objects.create(slug="bolashak", name="Bolashak")


@pytest.fixture
def wave(graduate_version, programme):
    return fieldwork(graduate_version, programme)


@pytest.fixture
def owner(client, programme):
    return _admin(client, programme)


def _summaries(client, wave, query=""):
    page = client.get(f"/staff/waves/{wave.slug}/questions/{query}")
    assert page.status_code == 200
    return {s.name: s for s in page.context["summaries"]}


def _reads_responses(queries) -> list[str]:
    return [q["sql"] for q in queries if Response._meta.db_table in q["sql"]]


def _fresh(wave, status="complete"):
    """The summaries made from every answer, as they were made before they were kept."""
    fields = wave_fields(wave, "en")
    rows = Response.objects.filter(wave=wave, status=status).order_by("id").values_list("id", "answers")
    return {s.name: s for s in summaries_from_tally(fields, tally_answers(fields, rows))}


def test_a_new_response_shows_at_the_next_view(owner, wave):
    before = _summaries(owner, wave)["country_residence"].answered
    answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "country_residence": "FRA"})
    after = _summaries(owner, wave)["country_residence"]
    assert after.answered == before + 1
    assert {c["name"]: c["count"] for c in after.choices}["FRA"] == 1


def test_a_partial_response_shows_among_all_and_not_among_the_complete(owner, wave):
    complete = _summaries(owner, wave)["country_residence"].answered
    every = _summaries(owner, wave, "?status=all")["country_residence"].answered
    answer(wave, {"country_residence": "FRA"}, status="partial")
    assert _summaries(owner, wave)["country_residence"].answered == complete
    assert _summaries(owner, wave, "?status=all")["country_residence"].answered == every + 1


def test_a_view_with_nothing_new_reads_no_response(owner, wave):
    _summaries(owner, wave)
    with CaptureQueriesContext(connection) as warm:
        _summaries(owner, wave)
    assert _reads_responses(warm.captured_queries) == []
    for country in ("FRA", "ITA", "ESP", "POL", "CZE"):
        answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "country_residence": country})
    _summaries(owner, wave)
    with CaptureQueriesContext(connection) as warm_again:
        _summaries(owner, wave)
    assert _reads_responses(warm_again.captured_queries) == []
    assert len(warm_again.captured_queries) == len(warm.captured_queries)  # not more with more answers


def test_only_the_responses_written_since_the_last_view_are_read(owner, wave):
    _summaries(owner, wave)
    answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "country_residence": "FRA", "city_residence": "Lyon"})
    with CaptureQueriesContext(connection) as queries:
        kept = _summaries(owner, wave)
    reads = [sql for sql in _reads_responses(queries.captured_queries) if '"answers"' in sql]
    assert len(reads) == 1 and "data_version" in reads[0]
    assert kept["city_residence"].texts[0] == "Lyon"
    fresh = _fresh(wave)
    for name, summary in fresh.items():
        assert (kept[name].answered, kept[name].choices, kept[name].stats, kept[name].texts) == (
            summary.answered,
            summary.choices,
            summary.stats,
            summary.texts,
        ), name


def test_a_removed_or_changed_complete_response_leaves_the_summaries(owner, wave):
    extra = answer(wave, {**SAMPLE_GRADUATE_ANSWERS, "country_residence": "FRA"})
    assert {c["name"]: c["count"] for c in _summaries(owner, wave)["country_residence"].choices}["FRA"] == 1
    # Not through the services: the database's triggers see every path.
    Response.objects.filter(pk=extra.pk).update(answers={**SAMPLE_GRADUATE_ANSWERS, "country_residence": "ITA"})
    counts = {c["name"]: c["count"] for c in _summaries(owner, wave)["country_residence"].choices}
    assert "FRA" not in counts and counts["ITA"] == 1  # a long list shows the choices given
    Response.objects.filter(pk=extra.pk).delete()
    counts = {c["name"]: c["count"] for c in _summaries(owner, wave)["country_residence"].choices}
    assert "ITA" not in counts


def test_a_language_saved_on_a_response_moves_no_data_version(wave):
    response = Response.objects.filter(wave=wave).first()
    version = WaveDataVersion.objects.get(wave_id=wave.pk).version
    Response.objects.filter(pk=response.pk).update(language="kk", last_page=2)
    assert WaveDataVersion.objects.get(wave_id=wave.pk).version == version
    response.refresh_from_db()
    assert response.data_version <= version


@pytest.mark.postgres
def test_one_statement_takes_one_data_version_per_wave(wave):
    """A bulk insert (or a COPY) moves the version once, not once per row; the next statement again."""
    before = WaveDataVersion.objects.get(wave_id=wave.pk).version
    template = Response.objects.filter(wave=wave).first()
    rows = [
        Response(
            survey_id=template.survey_id,
            version_id=template.version_id,
            wave=wave,
            instance_id=uuid.uuid4(),
            status="complete",
            answers=SAMPLE_GRADUATE_ANSWERS,
            content_hash="x",
        )
        for _ in range(3)
    ]
    with transaction.atomic():
        Response.objects.bulk_create(rows)
        answer(wave, SAMPLE_GRADUATE_ANSWERS)
    versions = set(Response.objects.filter(pk__in=[r.pk for r in rows]).values_list("data_version", flat=True))
    assert versions == {before + 1}
    assert WaveDataVersion.objects.get(wave_id=wave.pk).version == before + 2


def test_numbers_kept_with_their_counts_give_the_same_statistics():
    rng = random.Random(7)
    fields = [MergedField("n", "decimal", "N")]
    for size in (1, 2, 3, 10, 101):
        values = [rng.choice([1, 2, 2.5, 3, 10, -4, 7]) for _ in range(size)]
        stats = summarise_answers(fields, [{"n": v} for v in values])[0].stats
        assert stats["n"] == size and stats["median"] == statistics.median(values)
        assert stats["mean"] == round(statistics.fmean(values), 2)
        assert (stats["min"], stats["max"]) == (min(values), max(values))


def test_a_tally_added_to_equals_one_made_at_once():
    fields = [MergedField("c", "select_multiple", "C", choices=[("a", "A"), ("b", "B")]), MergedField("t", "text", "T")]
    rows = [(i, {"c": ["a", "b"][: 1 + i % 2], "t": f"text {i}"}) for i in range(30)]
    rng = random.Random(3)
    rng.shuffle(rows)
    added = tally_answers(fields, rows[:11])
    added = tally_answers(fields, rows[11:], added)
    at_once = tally_answers(fields, rows)
    assert added == at_once
    assert [i for i, _text in at_once.texts["t"]] == list(range(29, 19, -1))
