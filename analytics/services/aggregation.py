"""Aggregation jobs: a wave's frame, weights and standard indicators, as IndicatorTable rows.

The one path for recomputing a wave's figures; the page button, the API, the admin
action, the nightly beat task and the wave-closed sweep all call ``aggregation_request``.
A job is a row (``config.jobs.Job``): ``aggregation_run`` claims it, builds the frame
(incrementally from the wave's last build), rakes weights to the plan's official
margins, computes and suppresses every table, and upserts each one only if its content
changed, so a rerun with unchanged inputs writes nothing new and a redelivered task
(worker killed mid-job) recomputes the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import User
from analytics.compute.weighting import MarginError, rake
from analytics.models import AggregationJob, CountryGroupScheme, IndicatorTable, WaveAnalysis
from analytics.official.groups import country_group_map, group_labels
from analytics.official.selectors import observations_frame
from surveys.models import Response, Wave

from . import frames
from .indicators import Breakdown, breakdowns, standard_indicators, tables
from .margins import MarginBuild, build_margin

logger = logging.getLogger(__name__)

# Country groupings every wave is broken down by, when it has a country of residence.
BREAKDOWN_SCHEMES = ("bns-cis", "un-m49-region", "hdi-2021")
CAVEAT_SAMPLE = (
    "Survey respondents are a self-selected sample, not a probability sample: weighting "
    "corrects the composition on the weighting variables only."
)


def thresholds() -> dict[str, int]:
    return dict(getattr(settings, "ANALYTICS_MIN_CELL", {"public": 10, "programme": 5}))


# --------------------------------------------------------------------------- requests


def aggregation_request(wave: Wave, *, trigger: str = AggregationJob.Trigger.DEMAND, user: User | None = None):
    """The wave's running or queued job, or a new one enqueued on commit."""
    with transaction.atomic():
        Wave.objects.select_for_update().filter(pk=wave.pk).first()  # one request at a time per wave
        pending = (
            AggregationJob.objects.filter(
                wave=wave, status__in=[AggregationJob.Status.QUEUED, AggregationJob.Status.RUNNING]
            )
            .order_by("-created_at")
            .first()
        )
        if pending is not None:
            return pending
        job = AggregationJob.objects.create(wave=wave, trigger=trigger, requested_by=user)
        job.enqueue()
    return job


def waves_changed_since_last_build() -> list[int]:
    """Waves with complete responses changed after their last complete build (or never built)."""
    last_build = {
        row["wave_id"]: row["last"]
        for row in AggregationJob.objects.filter(status=AggregationJob.Status.COMPLETE)
        .values("wave_id")
        .annotate(last=Max("watermark"))
    }
    latest = (
        Response.objects.filter(status=Response.Status.COMPLETE, wave__isnull=False)
        .values("wave_id")
        .annotate(last=Max("updated_at"))
    )
    return [
        row["wave_id"]
        for row in latest
        if last_build.get(row["wave_id"]) is None or row["last"] > last_build[row["wave_id"]]
    ]


def aggregation_nightly() -> list[int]:
    """One job per changed wave (split per wave, so more workers finish more waves at once)."""
    ids = []
    for wave in Wave.objects.filter(pk__in=waves_changed_since_last_build()):
        ids.append(aggregation_request(wave, trigger=AggregationJob.Trigger.NIGHTLY).pk)
    return ids


def aggregation_closed_waves() -> list[int]:
    """Waves closed since their last build get a final one."""
    now = timezone.now()
    ids = []
    closed = Wave.objects.filter(closes_at__lte=now).filter(
        ~Q(
            aggregation_jobs__trigger=AggregationJob.Trigger.CLOSED,
            aggregation_jobs__status=AggregationJob.Status.COMPLETE,
        )
    )
    for wave in closed.distinct():
        if Response.objects.filter(wave=wave, status=Response.Status.COMPLETE).exists():
            ids.append(aggregation_request(wave, trigger=AggregationJob.Trigger.CLOSED).pk)
    return ids


def aggregation_sweep() -> list[int]:
    return AggregationJob.sweep()


# --------------------------------------------------------------------------- running


def aggregation_run(job_id: int) -> bool:
    """Claim and run one job (safe to call twice: a second call finds it taken or finished)."""
    return AggregationJob.execute(job_id, _run)


def _previous_build(job: AggregationJob) -> AggregationJob | None:
    return (
        AggregationJob.objects.filter(wave=job.wave, status=AggregationJob.Status.COMPLETE)
        .exclude(frame_file="")
        .exclude(pk=job.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )


def _run(job: AggregationJob) -> None:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    wave = Wave.objects.select_related("survey", "survey__programme").get(pk=job.wave_id)
    plan, _ = WaveAnalysis.objects.get_or_create(wave=wave)
    job.progress_to(5, "reading responses")

    previous = _previous_build(job)
    build = frames.build_frame(
        wave,
        previous.frame_file if previous else "",
        previous.watermark if previous else None,
    )
    relative = frames.frame_path(wave, job.pk)
    frames.write_frame(build.frame, build.spec, relative)
    timings["frame"] = time.perf_counter() - clock
    job.progress_to(35, "weighting")

    frame = build.frame
    columns = build.spec.metadata()
    schemes = {}
    for scheme in CountryGroupScheme.objects.filter(slug__in=BREAKDOWN_SCHEMES, programme__isnull=True):
        mapping = country_group_map(scheme.slug)
        if mapping:
            schemes[scheme.slug] = (
                mapping,
                group_labels(scheme.slug),
                {lang: scheme.name for lang in ("kk", "ru", "en")},
            )
    frame, groupings = breakdowns(frame, columns, schemes)
    indicators, missing = standard_indicators(columns)
    if frame.empty:
        # Nothing answered yet: no table (the previous ones, if any, are removed below).
        indicators, missing = [], ["no complete responses yet"]

    clock = time.perf_counter()
    weighting = _weights(frame, plan) if not frame.empty else {}
    if weighting.get("column"):
        frame = frame.assign(_weight=weighting.pop("weights"))
    timings["weights"] = time.perf_counter() - clock
    job.progress_to(50, "indicators")

    clock = time.perf_counter()
    base_meta = {
        "wave": wave.slug,
        "period": {
            "opens": wave.opens_at.date().isoformat(),
            "closes": wave.closes_at.date().isoformat() if wave.closes_at else None,
        },
        "source": "survey",
        "synthetic": plan.synthetic,
        "caveats": [CAVEAT_SAMPLE, *([plan.notes] if plan.notes else [])],
    }
    limits = thresholds()
    produced = tables(
        frame, indicators, groupings, weighting="none", weight=None, thresholds=limits, meta=base_meta, columns=columns
    )
    if weighting.get("column"):
        weighted_meta = {**base_meta, "weighting": _weighting_summary(weighting)}
        produced += tables(
            frame[frame["_weight"].notna()],
            indicators,
            groupings,
            weighting="raked",
            weight="_weight",
            thresholds=limits,
            meta=weighted_meta,
            columns=columns,
        )
    produced_composition = _composition_tables(frame, plan, weighting, limits, base_meta, columns)
    timings["indicators"] = time.perf_counter() - clock
    job.progress_to(85, "storing results")

    clock = time.perf_counter()
    written, unchanged = _store(job, wave, produced, produced_composition)
    timings["store"] = time.perf_counter() - clock
    _drop_old_frames(wave, keep=relative)
    job.finish(
        frame_file=relative,
        frame_rows=len(build.frame),
        watermark=build.watermark,
        frame_mode=build.mode,
        inputs_hash=_inputs_hash(build.frame, plan),
        tables_written=written,
        tables_unchanged=unchanged,
        report={
            "frame": {"mode": build.mode, "rows": len(build.frame), "read": build.read_rows},
            "skipped_indicators": missing,
            "weighting": _weighting_summary(weighting) if weighting else {},
            "timings": {key: round(value, 3) for key, value in timings.items()},
        },
    )


def _inputs_hash(frame: pd.DataFrame, plan: WaveAnalysis) -> str:
    text = json.dumps({"frame": frames.frame_hash(frame), "margins": plan.margins, "bounds": plan.weight_bounds})
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- weighting


def _weights(frame: pd.DataFrame, plan: WaveAnalysis) -> dict[str, Any]:
    """Raked weights (NaN for respondents outside the weighting) and the report; {} without margins."""
    if not plan.margins:
        return {}
    try:
        margins: list[MarginBuild] = []
        for spec in plan.margins:
            mapping = country_group_map(spec.get("scheme", ""))
            if not mapping:
                raise MarginError(f"The country-group scheme '{spec.get('scheme')}' does not exist.")
            observations = observations_frame(
                indicator=spec.get("indicator", ""),
                time_period=spec.get("time_period", ""),
                ref_area=spec.get("ref_area", "KAZ"),
                **{dim: "_T" for dim in ("sex", "age", "education", "specialty", "scope")},
            )
            margins.append(build_margin(spec, frame, observations, mapping))
        groups = pd.DataFrame({margin.column: margin.groups for margin in margins}, index=frame.index)
        answered = groups.notna().all(axis=1)
        bounds = tuple(plan.weight_bounds) if len(plan.weight_bounds or []) == 2 else (0.2, 5.0)
        result = rake(
            groups[answered].reset_index(drop=True),
            {margin.column: margin.targets for margin in margins},
            bounds=bounds,
        )
    except MarginError as exc:
        return {"error": str(exc)}
    weights = np.full(len(frame), np.nan)
    weights[answered.to_numpy()] = result.weights
    return {
        "column": "_weight",
        "weights": weights,
        "result": result,
        "margins": margins,
        "left_out": int((~answered).sum()),
    }


def _weighting_summary(weighting: dict[str, Any]) -> dict[str, Any]:
    if not weighting:
        return {}
    if "error" in weighting:
        return {"error": weighting["error"]}
    result = weighting["result"]
    return {
        "method": "raking (iterative proportional fitting)",
        "converged": bool(result.converged),
        "iterations": int(result.iterations),
        "max_margin_error": float(result.max_margin_error),
        "n": int(result.n),
        "n_eff": round(float(result.n_eff), 1),
        "deff": round(float(result.deff), 3),
        "weight_min": round(float(result.weight_min), 4),
        "weight_max": round(float(result.weight_max), 4),
        "weight_ratio": round(float(result.weight_ratio), 2),
        "trimmed": int(result.trimmed),
        "left_out": weighting["left_out"],
        "margins": [
            {
                "field": margin.field,
                "source": margin.source,
                "notes": margin.notes,
                "targets": margin.targets,
                "group_labels": group_labels(margin.source.get("scheme") or ""),
            }  # fmt: skip
            for margin in weighting["margins"]
        ],
    }


def _composition_tables(
    frame: pd.DataFrame,
    plan: WaveAnalysis,
    weighting: dict[str, Any],
    limits: dict[str, int],
    meta: dict[str, Any],
    columns: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The sample's composition on each margin against the official distribution it is weighted to."""
    if not weighting.get("column"):
        return []
    out = []
    result = weighting["result"]
    report = pd.DataFrame(result.margins_report)
    for margin in weighting["margins"]:
        rows = report[report["variable"] == margin.column]
        cells = []
        for record in rows.to_dict("records"):
            cells.append(
                {
                    "group": "all",
                    "col": str(record["category"]),
                    "n": int(record["n"]),
                    "sample_share": float(record["sample_share"]),
                    "weighted_share": float(record["weighted_share"]),
                    "official_share": float(record["target_share"]),
                }
            )
        published = {}
        from analytics.compute.suppression import suppress

        for audience, threshold in limits.items():
            counts = pd.DataFrame([{"group": c["group"], "col": c["col"], "n": c["n"]} for c in cells])
            state = suppress(counts, row="group", col="col", n="n", threshold=threshold,
                             publish_row_totals=True, publish_col_totals=False, publish_grand_total=True)  # fmt: skip
            hidden = dict(zip(state.cells["col"], state.cells["suppressed"], strict=True))
            published[audience] = {
                "threshold": threshold,
                "cells": [
                    {**cell, "n": None, "sample_share": None, "weighted_share": None, "suppressed": True}
                    if hidden[cell["col"]]
                    else {**cell, "suppressed": False}
                    for cell in cells
                ],
                # Official shares are public figures: they stay even where the sample cell is hidden.
                "official": {cell["col"]: cell["official_share"] for cell in cells},
            }
        out.append(
            {
                "indicator": f"composition:{margin.field}",
                "label": (columns.get(margin.field) or {}).get("label") or {"en": margin.field},
                "cells": cells,
                "published": published,
                "meta": {
                    **meta,
                    "n": int(result.n),
                    "source_official": margin.source,
                    "notes": margin.notes,
                    "weighting": _weighting_summary(weighting),
                },  # fmt: skip
            }
        )
    return out


# --------------------------------------------------------------------------- storing


def _store(job: AggregationJob, wave: Wave, produced, compositions) -> tuple[int, int]:
    """Upsert tables whose content changed; remove the wave's tables no longer produced."""
    now = timezone.now()
    rows = []
    for table in produced:
        rows.append(
            {
                "indicator": table.indicator.code,
                "breakdown": table.breakdown.code,
                "weighting": table.weighting,
                "kind": table.indicator.kind,
                "label": table.indicator.label,
                "cells": table.cells,
                "published": table.published,
                "meta": {
                    **table.meta,
                    "breakdown_label": table.breakdown.label,
                    "group_labels": table.breakdown.value_labels,
                },  # fmt: skip
            }
        )
    for item in compositions:
        rows.append({**item, "breakdown": "all", "weighting": "raked", "kind": "composition"})
    existing = {(t.indicator, t.breakdown, t.weighting): t for t in IndicatorTable.objects.filter(wave=wave)}
    written = unchanged = 0
    seen = set()
    with transaction.atomic():
        for row in rows:
            key = (row["indicator"], row["breakdown"], row["weighting"])
            seen.add(key)
            digest = hashlib.sha256(
                json.dumps(
                    {k: row[k] for k in ("kind", "label", "cells", "published", "meta")}, sort_keys=True, default=str
                ).encode()  # fmt: skip
            ).hexdigest()
            current = existing.get(key)
            if current is not None and current.content_hash == digest:
                unchanged += 1
                continue
            IndicatorTable.objects.update_or_create(
                wave=wave,
                indicator=key[0],
                breakdown=key[1],
                weighting=key[2],
                defaults={
                    **{k: row[k] for k in ("kind", "label", "cells", "published", "meta")},
                    "content_hash": digest,
                    "computed_at": now,
                    "job": job,
                },  # fmt: skip
            )
            written += 1
        stale = [t.pk for key, t in existing.items() if key not in seen]
        if stale:
            IndicatorTable.objects.filter(pk__in=stale).delete()
    return written, unchanged


def _drop_old_frames(wave: Wave, keep: str) -> None:
    """Only the newest frame file of a wave is kept (the next build starts from it)."""
    folder = (Path(settings.MEDIA_ROOT) / keep).parent
    for path in folder.glob("job-*.parquet"):
        if str(path).endswith(keep.rsplit("/", 1)[-1]):
            continue
        try:
            path.unlink()
        except OSError:  # another worker's file of the same wave, or already gone
            logger.warning("could not remove old frame %s", path)


AggregationJob.transient_errors = (OperationalError,)
__all__ = [
    "aggregation_request",
    "aggregation_run",
    "aggregation_nightly",
    "aggregation_closed_waves",
    "aggregation_sweep",
    "Breakdown",
]
