"""Aggregation jobs on a real database: frames, incremental builds, weighting, suppression, reruns."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics import charts
from analytics.models import AggregationJob, IndicatorTable
from analytics.services import frames
from analytics.services.aggregation import (
    aggregation_nightly,
    aggregation_run,
    waves_changed_since_last_build,
)
from surveys.models import Response, ResponseRemoval
from surveys.services import respondent as respondent_flow
from tests.analytics.waves import MARGIN_2019, add_answers, computed, official_loaded, wave_with_answers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_process")]


@pytest.fixture
def official(db):
    official_loaded()


def run(wave) -> AggregationJob:
    job = computed(wave)
    assert job.status == AggregationJob.Status.COMPLETE, job.error
    return job


def test_frame_has_one_row_per_complete_response_and_a_column_per_variable(graduate_version):
    wave = wave_with_answers(graduate_version, "frame-wave", 40)
    spec = frames.frame_spec(wave)
    frame = frames.read_rows(wave, spec)
    assert len(frame) == 40
    assert frame["response_id"].is_unique
    assert {"return_intention", "likelihood_5y", "country_residence", "departure_year"} <= set(frame.columns)
    # select_multiple: one 0/1 column per choice, empty where the question was not asked
    assert "engagement_modes__mentoring" in frame
    returned = frame["return_intention"] == "already_returned"
    assert frame.loc[returned, "return_factors__higher_salary"].isna().all()
    assert set(frame.loc[~returned, "return_factors__higher_salary"].dropna().unique()) <= {0.0, 1.0}
    assert frame["departure_year"].dtype == "float64"
    # free text is not part of the analysis frame
    assert "city_residence" not in frame


def test_the_frame_is_read_set_based(graduate_version, settings):
    """One query for the rows (per block of BLOCK_ROWS on PostgreSQL, after one for the id span),
    never one per response: the count does not grow with the responses."""
    settings.ANALYTICS_READ_CONNECTIONS = 1
    wave = wave_with_answers(graduate_version, "one-query", 30)
    spec = frames.frame_spec(wave)
    with CaptureQueriesContext(connection) as queries:
        frames.read_rows(wave, spec)
    reads = [q["sql"] for q in queries if "surveys_response" in q["sql"]]
    assert len(reads) == (2 if connection.vendor == "postgresql" else 1)  # the span, then the rows
    add_answers(wave, 30, seed=5)
    with CaptureQueriesContext(connection) as more:
        frames.read_rows(wave, spec)
    assert len(more) == len(queries)
    if connection.vendor == "postgresql":
        # several blocks: still one query each, and every response once
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(frames, "BLOCK_ROWS", 7)
            with CaptureQueriesContext(connection) as blocks:
                frame = frames.read_rows(wave, spec)
        assert len(frame) == 60 and frame["response_id"].is_unique
        assert 1 + 9 <= len([q for q in blocks if "surveys_response" in q["sql"]]) <= 1 + 10


def test_frame_file_keeps_labels_in_three_languages(graduate_version, official):
    wave = wave_with_answers(graduate_version, "labels", 20)
    job = run(wave)
    frame, columns, _signature = frames.read_frame(job.frame_file)
    assert len(frame) == 20
    label = columns["return_intention"]["label"]
    assert set(label) == {"kk", "ru", "en"} and label["ru"] != label["en"]
    assert columns["return_intention"]["value_labels"]["already_returned"]["kk"]


def test_partial_responses_stay_out(graduate_version):
    wave = wave_with_answers(graduate_version, "partials", 12)
    Response.objects.filter(wave=wave).filter(pk__in=Response.objects.filter(wave=wave).values("pk")[:2]).update(
        status=Response.Status.PARTIAL
    )
    frame = frames.read_rows(wave, frames.frame_spec(wave))
    assert len(frame) == 10


def test_incremental_build_reads_only_what_changed(graduate_version, official, settings):
    settings.ANALYTICS_WATERMARK_OVERLAP_SECONDS = 0
    wave = wave_with_answers(graduate_version, "incremental", 60)
    Response.objects.filter(wave=wave).update(updated_at=timezone.now() - dt.timedelta(hours=2))
    latest = Response.objects.filter(wave=wave).order_by("-pk").first()
    Response.objects.filter(pk=latest.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    first = run(wave)
    assert first.frame_mode == "full" and first.frame_rows == 60
    add_answers(wave, 7, seed=99)
    second = run(wave)
    assert second.frame_mode == "incremental"
    # the 7 new responses, and the one changed exactly at the watermark (read again, merged by id)
    assert second.report["frame"]["read"] == 8
    assert second.frame_rows == 67
    full = frames.read_rows(wave, frames.frame_spec(wave))
    incremental, _columns, _sig = frames.read_frame(second.frame_file)

    def plain(frame):
        frame = frame.sort_values("response_id").reset_index(drop=True)[sorted(full.columns)].astype(object)
        return frame.where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(full), plain(incremental), check_dtype=False)


def test_a_removed_response_forces_a_full_build(graduate_version, official, settings):
    settings.ANALYTICS_WATERMARK_OVERLAP_SECONDS = 0
    wave = wave_with_answers(graduate_version, "removal", 30)
    run(wave)
    Response.objects.filter(pk=Response.objects.filter(wave=wave).first().pk).update(status=Response.Status.PARTIAL)
    job = run(wave)
    assert job.frame_mode == "full" and job.frame_rows == 29


@pytest.mark.parametrize(
    "remove",
    [
        lambda r: Response.objects.filter(pk=r.pk).delete(),
        lambda r: Response.objects.filter(pk=r.pk).update(status=Response.Status.PARTIAL),
        lambda r: connection.cursor().execute("DELETE FROM surveys_response WHERE id = %s", [r.pk]),
    ],
    ids=["deleted", "no-longer-complete", "raw-sql"],
)
def test_the_database_logs_every_complete_response_that_leaves_its_wave(graduate_version, remove):
    wave = wave_with_answers(graduate_version, "removal-log", 3)
    partial = respondent_flow.public_start(wave=wave, language="en").response
    Response.objects.filter(pk=partial.pk).update(status=Response.Status.PARTIAL, language="kk")
    Response.objects.filter(pk=partial.pk).delete()
    assert frames.removal_mark(wave) == 0  # a partial response leaving is no removal
    first = Response.objects.filter(wave=wave, status=Response.Status.COMPLETE).first()
    remove(first)
    assert frames.removal_mark(wave) > 0
    assert list(ResponseRemoval.objects.filter(wave_id=wave.pk).values_list("response_id", flat=True)) == [first.pk]


def test_a_removal_after_the_previous_build_forces_a_full_one(graduate_version, official, settings):
    settings.ANALYTICS_WATERMARK_OVERLAP_SECONDS = 0
    wave = wave_with_answers(graduate_version, "removal-deleted", 30)
    run(wave)
    add_answers(wave, 2, seed=3)
    assert run(wave).frame_mode == "incremental"
    Response.objects.filter(wave=wave).first().delete()
    job = run(wave)
    assert job.frame_mode == "full" and job.frame_rows == 31
    assert run(wave).frame_mode == "incremental"  # the removal is counted once


def test_a_nightly_build_counts_the_wave_and_finds_a_late_commit(graduate_version, official, settings):
    """A response written before the watermark but committed after it (beyond the overlap) is
    missed by an incremental read; the nightly build's count finds it and reads the wave in full."""
    settings.ANALYTICS_WATERMARK_OVERLAP_SECONDS = 0
    wave = wave_with_answers(graduate_version, "late-commit", 20)
    first = run(wave)
    late = add_answers(wave, 1, seed=4)[0]
    Response.objects.filter(pk=late.pk).update(updated_at=first.watermark - dt.timedelta(hours=1))
    assert run(wave).frame_rows == 20  # on demand: incremental, the late response not seen
    nightly = computed(wave, trigger=AggregationJob.Trigger.NIGHTLY)
    assert nightly.frame_mode == "full" and nightly.frame_rows == 21


def test_rerun_with_unchanged_inputs_writes_nothing_new(graduate_version, official):
    wave = wave_with_answers(graduate_version, "rerun", 80, margins=[MARGIN_2019])
    first = run(wave)
    assert first.tables_written > 0
    stamps = dict(IndicatorTable.objects.filter(wave=wave).values_list("pk", "computed_at"))
    second = run(wave)
    assert second.tables_written == 0
    assert second.tables_unchanged == first.tables_written
    assert dict(IndicatorTable.objects.filter(wave=wave).values_list("pk", "computed_at")) == stamps


def test_running_a_finished_job_again_does_nothing(graduate_version, official):
    wave = wave_with_answers(graduate_version, "twice", 20)
    job = run(wave)
    assert aggregation_run(job.pk) is False
    job.refresh_from_db()
    assert job.status == AggregationJob.Status.COMPLETE and job.attempts == 1


def test_weighting_to_the_official_margin_reports_convergence_and_what_the_series_lacks(graduate_version, official):
    wave = wave_with_answers(graduate_version, "weighted", 400, margins=[MARGIN_2019])
    job = run(wave)
    report = job.report["weighting"]
    assert report["converged"] is True
    assert report["max_margin_error"] < 1e-6
    assert 1.0 <= report["deff"] < 5 and report["n_eff"] <= report["n"]
    lacking = {note["country"]: note for note in report["margins"][0]["notes"]}
    assert lacking["USA"]["respondents"] > 0 and lacking["USA"]["group"] == "OECD"
    assert "not treated as zero" in charts.note_text(lacking["USA"])
    composition = IndicatorTable.objects.get(wave=wave, indicator="composition:country_residence")
    cells = composition.cells
    assert math.isclose(sum(c["official_share"] for c in cells), 1.0, abs_tol=1e-9)
    assert math.isclose(sum(c["weighted_share"] for c in cells), 1.0, abs_tol=1e-9)
    for cell in cells:
        assert cell["weighted_share"] == pytest.approx(cell["official_share"], abs=1e-6)
    raked = IndicatorTable.objects.get(wave=wave, indicator="return_intention", breakdown="all", weighting="raked")
    assert raked.meta["n_eff"] < raked.meta["n"]
    shares = [c["estimate"] for c in raked.cells]
    assert sum(shares) == pytest.approx(1.0)


def test_an_impossible_margin_is_refused_by_name_and_unweighted_figures_remain(graduate_version, official):
    wave = wave_with_answers(graduate_version, "impossible", 0, margins=[MARGIN_2019])
    # every respondent in Germany: the Russia, other-CIS and other groups have official targets but nobody
    add_answers(wave, 30, seed=5, country_residence="DEU")
    job = run(wave)
    error = job.report["weighting"]["error"]
    assert "RUS" in error
    assert IndicatorTable.objects.filter(wave=wave, weighting="none").exists()
    assert not IndicatorTable.objects.filter(wave=wave, weighting="raked").exists()


def test_published_cells_respect_each_audience_threshold(graduate_version, official):
    wave = wave_with_answers(graduate_version, "small", 45)
    run(wave)
    for table in IndicatorTable.objects.filter(wave=wave).exclude(kind="composition"):
        for audience, threshold in (("public", 10), ("programme", 5)):
            view = table.published[audience]
            assert view["threshold"] == threshold
            for cell in view["cells"]:
                if cell["suppressed"]:
                    assert cell["n"] is None and cell["estimate"] is None
                else:
                    assert cell["n"] is None or cell["n"] == 0 or cell["n"] >= threshold
            # small groups are combined: no published row stands for fewer respondents than the threshold
    by_field = IndicatorTable.objects.get(wave=wave, indicator="return_intention", breakdown="field_of_study",
                                          weighting="none")  # fmt: skip
    public_groups = {c["group"] for c in by_field.published["public"]["cells"]}
    assert "_other" in public_groups or len(public_groups) <= 4


def test_nightly_enqueues_only_changed_waves(graduate_version, official):
    wave = wave_with_answers(graduate_version, "nightly", 15)
    other = wave_with_answers(graduate_version, "nightly-quiet", 15)
    run(other)
    assert wave.pk in waves_changed_since_last_build()
    assert other.pk not in waves_changed_since_last_build()
    with TestCase.captureOnCommitCallbacks(execute=True):
        ids = aggregation_nightly()
    assert AggregationJob.objects.filter(pk__in=ids, wave=wave).exists()
    assert not AggregationJob.objects.filter(pk__in=ids, wave=other).exists()


def test_an_expired_lease_lets_another_worker_take_the_job_over(graduate_version, official):
    wave = wave_with_answers(graduate_version, "lease", 15)
    job = AggregationJob.objects.create(wave=wave)
    assert AggregationJob.claim(job.pk)
    assert not AggregationJob.claim(job.pk)  # held by a live worker
    AggregationJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert AggregationJob.sweep() == [job.pk]  # re-enqueued (runs in-process here)
    job.refresh_from_db()
    assert job.status == AggregationJob.Status.COMPLETE and job.attempts == 2


def test_a_wave_without_answers_has_no_tables_and_its_job_completes(graduate_version, official):
    wave = wave_with_answers(graduate_version, "empty", 0)
    job = run(wave)
    assert job.frame_rows == 0 and not IndicatorTable.objects.filter(wave=wave).exists()
    add_answers(wave, 12, seed=4)
    assert run(wave).frame_rows == 12
