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
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import User
from analytics.compute.cubes import NO_CELL, table_stats
from analytics.compute.suppression import suppress
from analytics.compute.weighting import MarginError, rake
from analytics.models import AggregationJob, CountryGroupScheme, IndicatorTable, WaveAnalysis
from analytics.official.groups import country_group_map, group_labels
from analytics.official.selectors import observations_frame
from surveys.models import Response, Wave

from . import frames
from .indicators import RESPONDENTS, Breakdown, breakdowns, merge_stats, standard_indicators, stats_of, tables
from .margins import MarginBuild, MarginPlan, build_margin, margin_plan

logger = logging.getLogger(__name__)

# Country groupings every wave is broken down by, when it has a country of residence.
BREAKDOWN_SCHEMES = ("bns-cis", "un-m49-region", "hdi-2021")
# Bumped when the statistics' layout changes (a stored one is then rebuilt, not updated).
STATS_VERSION = 1
MARGIN_ANSWERS = "_margin:"
CELL_SEPARATOR = "\x1f"
CAVEAT_SAMPLE = gettext_noop(
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

    # What the statistics depend on besides the answers: the columns, the groupings and the
    # plan's margins. When any of them changed, the previous statistics cannot be updated.
    schemes = _breakdown_schemes()
    margin_plans, margin_error = _margin_plans(plan, wave)
    spec = frames.frame_spec(wave)
    signature = _stats_signature(spec, schemes, margin_plans, plan)
    previous = _previous_build(job)
    usable = bool(previous and previous.report.get("stats_signature") == signature and _stats_path(previous).is_file())
    build = frames.build_frame(
        wave,
        job.pk,
        previous.frame_file if usable else "",
        previous.watermark if usable else None,
        incremental=usable,
        spec=spec,
        previous_removals=previous.report.get("frame", {}).get("removals") if usable else None,
        verify_totals=job.trigger == AggregationJob.Trigger.NIGHTLY,
    )
    timings["frame"] = time.perf_counter() - clock
    try:
        job.progress_to(35, "statistics")

        clock = time.perf_counter()
        columns = build.spec.metadata()
        indicators, missing = standard_indicators(columns)
        new_stats = _rows_stats(build.rows, columns, schemes, margin_plans, indicators)
        if build.mode == "incremental":
            old = pd.read_parquet(_stats_path(previous))
            taken = _rows_stats(build.removed, columns, schemes, margin_plans, indicators)
            stats = merge_stats((old, 1), (new_stats, 1), (taken, -1))
        else:
            stats = merge_stats((new_stats, 1))
        stats_file = _stats_path(job, build.relative)
        stats_file.parent.mkdir(parents=True, exist_ok=True)
        stats.to_parquet(stats_file.with_suffix(".part"), index=False)
        stats_file.with_suffix(".part").replace(stats_file)
        timings["statistics"] = time.perf_counter() - clock
        job.progress_to(50, "weighting")

        clock = time.perf_counter()
        groupings = _groupings(columns, schemes)
        weighting = _weights(stats, margin_plans, plan, margin_error) if build.total_rows else {}
        timings["weights"] = time.perf_counter() - clock
        job.progress_to(60, "indicators")

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
        if not build.total_rows:
            indicators, missing = [], ["no complete responses yet"]
        produced = tables(stats, indicators, groupings, weighting="none", factors=None, thresholds=limits, meta=base_meta,
                          columns=columns)  # fmt: skip
        compositions = []
        if weighting.get("factors"):
            weighted_meta = {**base_meta, "weighting": _weighting_summary(weighting)}
            produced += tables(stats, indicators, groupings, weighting="raked", factors=weighting["factors"],
                               thresholds=limits, meta=weighted_meta, columns=columns)  # fmt: skip
            compositions = _composition_tables(weighting, limits, base_meta, columns)
        timings["indicators"] = time.perf_counter() - clock
        job.progress_to(85, "storing results")

        clock = time.perf_counter()
        written, unchanged = _store(job, wave, produced, compositions)
        timings["store"] = time.perf_counter() - clock
        if build.mode == "full":
            _drop_old_frames(wave, keep=build.relative)
    except BaseException:
        build.settle()
        raise
    clock = time.perf_counter()
    build.saved()  # the frame's part is on disk before the job says where it is
    timings["frame saved"] = time.perf_counter() - clock
    job.finish(
        frame_file=build.relative,
        frame_rows=build.total_rows,
        watermark=build.watermark,
        frame_mode=build.mode,
        inputs_hash=hashlib.sha256(pd.util.hash_pandas_object(stats, index=False).to_numpy().tobytes()).hexdigest(),
        tables_written=written,
        tables_unchanged=unchanged,
        report={
            "frame": {
                "mode": build.mode,
                "rows": build.total_rows,
                "read": len(build.rows),
                "parts": frames.frame_parts(build.relative),
                "removals": build.removals,
            },  # fmt: skip
            "stats_signature": signature,
            "skipped_indicators": missing,
            "weighting": _weighting_summary(weighting) if weighting else {},
            "timings": {key: round(value, 3) for key, value in timings.items()},
        },
    )


def _stats_path(job: AggregationJob, relative: str | None = None) -> Path:
    return Path(settings.MEDIA_ROOT) / (relative or job.frame_file) / f"stats-{job.pk}.parquet"


def _breakdown_schemes() -> dict[str, tuple[dict[str, str], dict[str, str], dict[str, str]]]:
    schemes = {}
    for scheme in CountryGroupScheme.objects.filter(slug__in=BREAKDOWN_SCHEMES, programme__isnull=True).order_by(
        "slug"
    ):
        mapping = country_group_map(scheme.slug)
        if mapping:
            schemes[scheme.slug] = (
                mapping,
                group_labels(scheme.slug),
                {lang: scheme.name for lang in ("kk", "ru", "en")},
            )
    return schemes


def _scheme_map(slug: str, wave: Wave) -> dict[str, str]:
    """A programme's own grouping of that name first, else the platform's."""
    if wave.survey.programme_id:
        own = country_group_map(slug, programme=wave.survey.programme)
        if own:
            return own
    return country_group_map(slug)


def _margin_plans(plan: WaveAnalysis, wave: Wave) -> tuple[list[MarginPlan], str]:
    try:
        return [margin_plan(spec, _scheme_map(spec.get("scheme", ""), wave)) for spec in plan.margins or []], ""
    except MarginError as exc:
        return [], str(exc)


def _stats_signature(spec, schemes, margin_plans: list[MarginPlan], plan: WaveAnalysis) -> str:
    text = json.dumps(
        {
            "version": STATS_VERSION,
            "columns": spec.signature,
            "schemes": {slug: sorted(mapping.items()) for slug, (mapping, _labels, _name) in schemes.items()},
            "margins": [(m.field, m.other, sorted(m.mapping.items())) for m in margin_plans],
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _groupings(columns: dict[str, dict[str, Any]], schemes) -> list[Breakdown]:
    probe = pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    if "submitted_at" in probe:
        probe["submitted_at"] = pd.Series(dtype="datetime64[ns, UTC]")
    return breakdowns(probe, columns, schemes)[1]


def _rows_stats(rows: pd.DataFrame, columns, schemes, margin_plans: list[MarginPlan], indicators) -> pd.DataFrame:
    """Statistics of every table over `rows`, with each row's weighting cell and the margin answers."""
    rows, groupings = breakdowns(rows, columns, schemes)
    cells, labels = _cells(rows, margin_plans)
    stats = stats_of(rows, indicators, groupings, cells, labels)
    extra = []
    for margin in margin_plans:
        if margin.field in rows:
            answers = rows.assign(_by_all="all")
            part = table_stats(answers, "distribution", [margin.field], by="_by_all", cells=cells, cell_labels=labels)
            extra.append(part.assign(indicator=f"{MARGIN_ANSWERS}{margin.field}", breakdown="all"))
    return pd.concat([stats, *extra], ignore_index=True) if extra else stats


def _cells(rows: pd.DataFrame, margin_plans: list[MarginPlan]) -> tuple[np.ndarray, list[str]]:
    """Each row's weighting cell (its groups on every margin joined; -1 when one is unanswered).
    Worked out on codes: each answer's group is looked up once per distinct answer."""
    if not margin_plans or rows.empty:
        return np.full(len(rows), -1 if margin_plans else 0, dtype=np.int64), ([] if margin_plans else [""])
    combined = np.zeros(len(rows), dtype=np.int64)
    missing = np.zeros(len(rows), dtype=bool)
    levels: list[list[str]] = []
    for margin in margin_plans:
        values = rows[margin.field] if margin.field in rows else pd.Series(None, index=rows.index, dtype=object)
        codes, answers = pd.factorize(values, use_na_sentinel=True)
        groups = [margin.mapping.get(a, margin.other) for a in answers]
        names = sorted({g for g in groups if g is not None})
        lookup = np.asarray([names.index(g) if g is not None else -1 for g in groups] + [-1], dtype=np.int64)
        group_codes = lookup[np.where(codes >= 0, codes, len(groups))]
        missing |= group_codes < 0
        combined = combined * max(len(names), 1) + np.maximum(group_codes, 0)
        levels.append(names)
    combined = np.where(missing, -1, combined)
    present, cells = np.unique(combined[combined >= 0], return_inverse=False), None
    labels = []
    for code in present:
        parts, rest = [], int(code)
        for names in reversed(levels):
            width = max(len(names), 1)
            parts.append(names[rest % width] if names else "")
            rest //= width
        labels.append(CELL_SEPARATOR.join(reversed(parts)))
    cells = np.full(len(rows), -1, dtype=np.int64)
    cells[combined >= 0] = np.searchsorted(present, combined[combined >= 0])
    order = np.argsort(labels, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cells = np.where(cells >= 0, rank[np.maximum(cells, 0)], -1)
    return cells.astype(np.int64), [labels[i] for i in order]


# --------------------------------------------------------------------------- weighting


def _weights(stats: pd.DataFrame, margin_plans: list[MarginPlan], plan: WaveAnalysis, error: str) -> dict[str, Any]:
    """Raked weight per weighting cell, and the report; {} without margins."""
    if error:
        return {"error": error}
    if not margin_plans:
        return {}
    try:
        margins: list[MarginBuild] = []
        for margin in margin_plans:
            answers = stats[stats["indicator"] == f"{MARGIN_ANSWERS}{margin.field}"].groupby("col")["s1"].sum()
            observations = observations_frame(
                indicator=margin.indicator,
                time_period=margin.time_period,
                ref_area="KAZ",
                **{dim: "_T" for dim in ("sex", "age", "education", "specialty", "scope")},
            )
            margins.append(build_margin(margin, answers[answers > 0], observations))
        respondents = stats[(stats["indicator"] == RESPONDENTS) & (stats["cell"] != NO_CELL)]
        counts = respondents.groupby("cell")["n"].sum().sort_index()
        if counts.empty:
            raise MarginError("No respondent answered every weighting question.")
        # One row per respondent (respondents of a cell are alike): the raking itself is
        # on these rows, so bounds and convergence mean what they mean for respondents.
        groups = pd.Series(counts.index).str.split(CELL_SEPARATOR, expand=True, regex=False)
        groups.columns = [m.field for m in margin_plans]
        expanded = groups.loc[np.repeat(np.arange(len(counts)), counts.to_numpy())].reset_index(drop=True)
        bounds = tuple(plan.weight_bounds) if len(plan.weight_bounds or []) == 2 else (0.2, 5.0)
        result = rake(expanded, {m.field: m.targets for m in margins}, bounds=bounds)
    except MarginError as exc:
        return {"error": str(exc)}
    starts = np.concatenate([[0], np.cumsum(counts.to_numpy())[:-1]])
    factors = {str(cell): float(result.weights[start]) for cell, start in zip(counts.index, starts, strict=True)}
    left_out = int(stats[(stats["indicator"] == RESPONDENTS) & (stats["cell"] == NO_CELL)]["n"].sum())
    return {"factors": factors, "result": result, "margins": margins, "left_out": left_out}


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
                # The margin's own 'other' group is named too (the scheme lists no members for it).
                "group_labels": {
                    **{g: "Other" for g in margin.targets},
                    **group_labels(margin.source.get("scheme") or ""),
                },
            }  # fmt: skip
            for margin in weighting["margins"]
        ],
    }


def _composition_tables(
    weighting: dict[str, Any],
    limits: dict[str, int],
    meta: dict[str, Any],
    columns: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The sample's composition on each margin against the official distribution it is weighted to."""
    out = []
    result = weighting["result"]
    report = pd.DataFrame(result.margins_report)
    for margin in weighting["margins"]:
        rows = report[report["variable"] == margin.field]
        cells = [
            {
                "group": "all",
                "col": str(record["category"]),
                "n": int(record["n"]),
                "sample_share": float(record["sample_share"]),
                "weighted_share": round(float(record["weighted_share"]), 12),
                "official_share": float(record["target_share"]),
            }
            for record in rows.to_dict("records")
        ]
        published = {}
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
    # Only the keys and hashes are read back: the tables themselves are large.
    existing = {
        (indicator, breakdown, weighting): (pk, digest)
        for pk, indicator, breakdown, weighting, digest in IndicatorTable.objects.filter(wave=wave).values_list(
            "pk", "indicator", "breakdown", "weighting", "content_hash"
        )
    }
    fields = ("kind", "label", "cells", "published", "meta")
    changed, seen = [], set()
    unchanged = 0
    for row in rows:
        key = (row["indicator"], row["breakdown"], row["weighting"])
        seen.add(key)
        digest = hashlib.sha256(
            json.dumps({k: row[k] for k in fields}, sort_keys=True, default=str).encode()
        ).hexdigest()
        current = existing.get(key)
        if current is not None and current[1] == digest:
            unchanged += 1
            continue
        # The JSON goes in as expressions: as plain values PostgreSQL's bulk insert would send
        # them as text arrays, escaped character by character on the way.
        table = IndicatorTable(
            wave=wave, indicator=key[0], breakdown=key[1], weighting=key[2], content_hash=digest, computed_at=now,
            job=job, kind=row["kind"], label=row["label"],
            **{k: Value(row[k], output_field=models.JSONField()) for k in ("cells", "published", "meta")},
        )  # fmt: skip
        changed.append(table)
    with transaction.atomic():
        if changed:
            # One upsert on the table's key for new and changed tables alike (an UPDATE per
            # changed table costs a statement each, and large JSON in CASE lists parses slowly).
            IndicatorTable.objects.bulk_create(
                changed,
                batch_size=100,
                update_conflicts=True,
                unique_fields=["wave", "indicator", "breakdown", "weighting"],
                update_fields=[*fields, "content_hash", "computed_at", "job"],
            )
        stale = [pk for key, (pk, _digest) in existing.items() if key not in seen]
        if stale:
            IndicatorTable.objects.filter(pk__in=stale).delete()
    return len(changed), unchanged


def _drop_old_frames(wave: Wave, keep: str) -> None:
    """After a full build only its folder is kept (the next build starts from it)."""
    folder = Path(settings.MEDIA_ROOT) / keep
    for other in folder.parent.glob("build-*"):
        if other.name != folder.name:
            shutil.rmtree(other, ignore_errors=True)


__all__ = [
    "aggregation_request",
    "aggregation_run",
    "aggregation_nightly",
    "aggregation_closed_waves",
    "aggregation_sweep",
]
