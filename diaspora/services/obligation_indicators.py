"""Return and obligation indicators per programme and cohort, each with its numerator,
denominator, cohort and window, small cells suppressed by the analytics suppression.

- Return rate within 6, 12 and 24 months of the obligation's start (graduation): among those
  whose start is at least that long ago, the share back in a qualifying country by then.
- Fulfilment rate: fulfilled / (fulfilled + breached), only for cohorts whose every window has
  closed (exempt and waived participants are outside it, and counted beside it).
- Regional retention at 1, 3 and 5 years: among those whose start is that long ago, the share
  in qualifying work (the programme's countries and regions) on that anniversary.
- Knowledge rate: the share whose current status rests on a verified episode (an accepted
  document, an employer's confirmation or an administrative record).
- Time to return and time to complete the obligation, Kaplan-Meier curves (statsmodels'
  SurvfuncRight) for cohorts still inside their window, censored today; a breached participant
  is censored at their window's end. A curve stops where fewer than the threshold remain at risk.

Every rate table is a cohorts x (yes, no) table of counts suppressed with
``analytics.compute.suppression.suppress`` (row totals are the denominators, the "all cohorts"
row the column totals), so no suppressed count can be recovered from what is shown.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import DateField, ExpressionWrapper, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from analytics.compute.estimates import wilson_interval
from analytics.compute.suppression import suppress

from .. import obligation_time as ot
from ..models.obligations import Episode, ObligationStatus, Participation
from .obligations import EPISODE_VALUES, _spans, arithmetic_rule, today

ALL = "all"


def threshold() -> int:
    """Administrators of a programme see cells of 5 and more (ANALYTICS_MIN_CELL['programme'])."""
    return int(getattr(settings, "ANALYTICS_MIN_CELL", {}).get("programme", 5))


@dataclass
class RateRow:
    cohort: int | str
    numerator: int | None
    denominator: int | None
    rate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""

    @property
    def shown(self) -> bool:
        return self.rate is not None


@dataclass
class RateIndicator:
    code: str
    label: str
    numerator: str
    denominator: str
    window: str
    rows: list[RateRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "label": str(self.label), "numerator": str(self.numerator),
            "denominator": str(self.denominator), "window": str(self.window), "notes": [str(n) for n in self.notes],
            "rows": [row.__dict__ for row in self.rows],
        }  # fmt: skip


@dataclass
class Curve:
    code: str
    label: str
    cohort: int
    points: list[dict[str, float]]  # month, survival (share not yet there), at_risk
    n: int
    events: int


def _rate_table(
    code: str, label, numerator, denominator, window, counts: dict[int, tuple[int, int]], limit: int, notes=()
) -> RateIndicator:
    """counts: cohort -> (yes, total). Suppressed as a cohorts x (yes, no) table with its margins."""
    indicator = RateIndicator(code, label, numerator, denominator, window, notes=list(notes))
    cohorts = sorted(c for c, (_, total) in counts.items() if total)
    if not cohorts:
        return indicator
    cells = pd.DataFrame(
        [(c, "yes", counts[c][0]) for c in cohorts] + [(c, "no", counts[c][1] - counts[c][0]) for c in cohorts],
        columns=["cohort", "outcome", "n"],
    )
    table = suppress(cells, row="cohort", col="outcome", threshold=limit)
    hidden = {(r.cohort, r.outcome) for r in table.cells.itertuples() if r.suppressed}
    hidden_rows = {r.cohort for r in table.row_totals.itertuples() if r.suppressed}
    hidden_cols = {r.outcome for r in table.col_totals.itertuples() if r.suppressed}

    def row(cohort, yes: int, total: int, yes_hidden: bool, total_hidden: bool) -> RateRow:
        if total_hidden:
            return RateRow(cohort, None, None, None, note=str(_("fewer than %(k)s: not shown") % {"k": limit}))
        if yes_hidden:
            return RateRow(cohort, None, total, None, note=str(_("suppressed to protect small groups")))
        low, high = wilson_interval(np.array([yes / total]), np.array([total]))
        return RateRow(cohort, yes, total, yes / total, float(low[0]), float(high[0]))

    for cohort in cohorts:
        yes, total = counts[cohort]
        hide_yes = (cohort, "yes") in hidden or (cohort, "no") in hidden
        indicator.rows.append(row(cohort, yes, total, hide_yes, cohort in hidden_rows))
    all_yes, all_total = sum(counts[c][0] for c in cohorts), sum(counts[c][1] for c in cohorts)
    grand = table.grand_total
    indicator.rows.append(row(ALL, all_yes, all_total, bool(hidden_cols), bool(grand and grand.suppressed)))
    return indicator


@functools.lru_cache(maxsize=65536)
def _shifted(day: dt.date, months: int) -> dt.date:
    """`day` plus calendar months (cached: participants share a few thousand start dates)."""
    return day + relativedelta(months=months)


def _months(start: dt.date, end: dt.date) -> float:
    return (end - start).days / ot.DAYS_PER_MONTH


def programme_indicators(
    participations: QuerySet[Participation], *, on: dt.date | None = None, full: bool = True, limit: int | None = None
) -> dict[str, Any]:
    """Every indicator over `participations` (one programme's, already scoped), by cohort. Without
    `full`, only what the participations' own fields give (returns, fulfilment, knowledge): no
    regional retention (it reads the episodes) and no curves."""
    on = on or today()
    limit = limit or threshold()
    rows = list(
        participations.order_by().values(
            "id", "cohort", "rule_id", "obligation_start", "returned_on", "fulfilled_on", "status", "window_end",
            "basis_tier",
        )
    )  # fmt: skip
    by_cohort: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_cohort[row["cohort"]].append(row)
    out: dict[str, Any] = {"rates": [], "curves": [], "threshold": limit, "on": on, "participants": len(rows)}

    for months in (6, 12, 24):
        counts = {}
        for cohort, members in by_cohort.items():
            due = [m for m in members if _shifted(m["obligation_start"], months) <= on]
            back = [m for m in due if m["returned_on"] and m["returned_on"] <= _shifted(m["obligation_start"], months)]
            counts[cohort] = (len(back), len(due))
        out["rates"].append(
            _rate_table(
                f"return_{months}m",
                _("Return within %(m)s months") % {"m": months},
                _("back in a qualifying country within %(m)s months of graduation") % {"m": months},
                _("participants who graduated at least %(m)s months ago") % {"m": months},
                _("%(m)s months from the obligation's start (graduation)") % {"m": months},
                counts,
                limit,
            )  # fmt: skip
        )

    counts, open_cohorts, outside = {}, [], defaultdict(int)
    for cohort, members in by_cohort.items():
        if any(m["window_end"] is None or m["window_end"] >= on for m in members):
            open_cohorts.append(cohort)
            continue
        decided = [m for m in members if m["status"] in (ObligationStatus.FULFILLED, ObligationStatus.BREACHED)]
        counts[cohort] = (sum(m["status"] == ObligationStatus.FULFILLED for m in decided), len(decided))
        outside[cohort] = len(members) - len(decided)
    notes = []
    if open_cohorts:
        notes.append(
            _("Not computed for cohorts whose windows are still open: %(c)s.")
            % {"c": ", ".join(map(str, sorted(open_cohorts)))}
        )
    if any(outside.values()):
        notes.append(
            _("Exempt, waived or deferred participants are outside the denominator: %(n)s.")
            % {"n": sum(outside.values())}
        )
    out["rates"].append(
        _rate_table(
            "fulfilment",
            _("Fulfilment"),
            _("fulfilled"),
            _("fulfilled + breached, in cohorts whose windows have closed"),
            _("the whole obligation window"),
            counts,
            limit,
            notes,
        )  # fmt: skip
    )

    if full:
        out["rates"].extend(_retention(participations, by_cohort, on, limit))

    counts = {c: (sum(m["basis_tier"] >= ot.VERIFIED for m in ms), len(ms)) for c, ms in by_cohort.items()}
    out["rates"].append(
        _rate_table(
            "knowledge",
            _("Knowledge rate"),
            _(
                "participants whose current status rests on a verified episode (document, employer, administrative record)"
            ),
            _("all participants of the cohort"),
            _("today"),
            counts,
            limit,
        )  # fmt: skip
    )

    for cohort in sorted(set(open_cohorts)) if full else []:
        members = by_cohort[cohort]
        returned = [
            (_months(m["obligation_start"], min(m["returned_on"] or on, on)), m["returned_on"] is not None and m["returned_on"] <= on)
            for m in members
        ]  # fmt: skip
        served = []
        for m in members:
            if m["fulfilled_on"]:
                served.append((_months(m["obligation_start"], m["fulfilled_on"]), True))
            elif m["status"] == ObligationStatus.BREACHED and m["window_end"]:
                served.append((_months(m["obligation_start"], m["window_end"]), False))
            else:
                served.append((_months(m["obligation_start"], on), False))
        for code, label, data in (
            ("time_to_return", _("Not yet returned"), returned),
            ("time_to_fulfil", _("Obligation not yet completed"), served),
        ):
            curve = kaplan_meier(data, limit)
            if curve is not None:
                out["curves"].append(Curve(code, str(label), cohort, curve, len(data), sum(e for _, e in data)))
    return out


def kaplan_meier(data: list[tuple[float, bool]], limit: int) -> list[dict[str, float]] | None:
    """(time, event) pairs to a Kaplan-Meier curve: share without the event by month, with the
    number at risk; points with fewer than `limit` at risk are left out (None: nothing to show)."""
    if len(data) < limit:
        return None
    from statsmodels.duration.survfunc import SurvfuncRight

    times = np.array([max(t, 0.0) for t, _ in data])
    events = np.array([1 if e else 0 for _, e in data])
    points = [{"month": 0.0, "survival": 1.0, "at_risk": float(len(data))}]
    if events.sum():
        curve = SurvfuncRight(times, events)
        for time, survival, at_risk in zip(curve.surv_times, curve.surv_prob, curve.n_risk, strict=True):
            if at_risk < limit:
                break
            points.append(
                {"month": round(float(time), 2), "survival": round(float(survival), 4), "at_risk": float(at_risk)}
            )
    return points


def _retention(participations, by_cohort, on: dt.date, limit: int) -> list[RateIndicator]:
    """Share in qualifying work on the 1st, 3rd and 5th anniversary of the obligation's start."""
    from ..models.obligations import ObligationRule

    rules = {
        r.pk: arithmetic_rule(r)
        for r in ObligationRule.objects.filter(pk__in={m["rule_id"] for ms in by_cohort.values() for m in ms})
    }
    out = []
    for years in (1, 3, 5):
        # Only the employment episodes around each participant's anniversary are read (the dates in
        # SQL with two days' slack either side; the exact day is checked below).
        near = ExpressionWrapper(F("participation__obligation_start") + dt.timedelta(days=365 * years + years // 4 + 2),
                                 output_field=DateField())  # fmt: skip
        far = ExpressionWrapper(F("participation__obligation_start") + dt.timedelta(days=365 * years - 2),
                                output_field=DateField())  # fmt: skip
        covering: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            Episode.objects.filter(participation__in=participations, kind=Episode.Kind.EMPLOYMENT, start__lte=near)
            .filter(Q(end__isnull=True) | Q(end__gte=far))
            .order_by()
            .values(*EPISODE_VALUES)
        ):
            covering[row["participation_id"]].append(row)
        counts = {}
        for cohort, members in by_cohort.items():
            due, working = 0, 0
            for m in members:
                day = _shifted(m["obligation_start"], 12 * years)
                if day > on:
                    continue
                due += 1
                rule = rules[m["rule_id"]]
                for span in _spans(covering.get(m["id"], [])):
                    if span.start <= day and (span.end is None or span.end >= day) and not ot.qualifies(span, rule):
                        working += 1
                        break
            counts[cohort] = (working, due)
        out.append(
            _rate_table(
                f"retention_{years}y",
                _("In qualifying work after %(y)s years") % {"y": years},
                _("in qualifying work (the programme's countries and regions) on the anniversary"),
                _("participants whose obligation started at least %(y)s years ago") % {"y": years},
                _("%(y)s years after the obligation's start") % {"y": years},
                counts,
                limit,
            )  # fmt: skip
        )
    return out


def programme_summaries(user, participations_administered) -> list[dict[str, Any]]:
    """For an administrator's home page: per programme with participants, return within 12 months
    and fulfilment over all cohorts (with their denominators), and the first of the at-risk list."""
    from accounts.scoping import administered

    out = []
    for programme in administered(user).order_by("slug"):
        rows = participations_administered.filter(programme=programme)
        if not rows.exists():
            continue
        figures = programme_indicators(rows, full=False)
        overall = {r.code: next((row for row in r.rows if row.cohort == ALL), None) for r in figures["rates"]}
        out.append({
            "programme": programme, "participants": figures["participants"],
            "return_12m": overall.get("return_12m"), "fulfilment": overall.get("fulfilment"),
            "knowledge": overall.get("knowledge"),
            "at_risk": rows.filter(at_risk=True).count(),
            "at_risk_first": list(rows.filter(at_risk=True).order_by("deadline", "full_name")[:5]),
            "threshold": figures["threshold"], "synthetic": rows.filter(synthetic=True).exists(),
        })  # fmt: skip
    return out
