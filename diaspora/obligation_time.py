"""Months served on a work obligation, worked out from episodes: pure functions, no database.

A participant owes `months_required` months of qualifying work inside a window that opens on
the obligation's start (graduation, unless the programme says otherwise) and lasts
`window_months`, lengthened by the days of any deferral. Qualifying work is an employment
episode in a qualifying country and, when the rule names regions, in one of them (region
codes are compared as territories, so a pre-2022 episode in a parent region fits a rule that
covers both halves of the split, and an episode running across the split is judged on each
side of it); with `specialty_required`, only episodes marked related to the specialty count.
Overlapping episodes count once. The obligation is met when the days of the union of
qualifying intervals inside the window (up to today) reach the days of `months_required`
calendar months from the start (five years from 2021-01-01 are 1,826 days); months served
are those days in the participant's own months (the required days over the months required).

Dates are whole days; an episode's end is its last day (inclusive); an open end means "still
going" and runs to today.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext_noop  # marks texts for translation; needs no settings

from .vocabularies.geography import REGION_REFORM_DATE, REGION_SPLITS, region_code, region_territory

DAYS_PER_MONTH = 365.2425 / 12


class Text(str):
    """An English explanation that can be shown in the reader's language: the template (marked for
    translation) and its values are kept beside the text."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, **args: Any) -> Text:
        text = super().__new__(cls, template % args if args else template)
        text.template, text.args = template, args
        return text

    def pair(self) -> list[Any]:
        return [self.template, self.args]


def translated(pair: list[Any] | tuple[Any, Any] | str) -> str:
    """A stored [template, args] pair (or a plain text) in the active language."""
    from django.utils.translation import gettext

    if isinstance(pair, str):
        return pair
    template, args = pair
    return gettext(template) % _dates_written_out(args) if args else gettext(template)


def _dates_written_out(args: dict[str, Any]) -> dict[str, Any]:
    """A stored ISO date ("2026-11-30") in the active language's format (30.11.2026, 30 ноября 2026 г.)."""
    from django.utils.formats import date_format

    shown = dict(args)
    for key, value in args.items():
        if key == "date" and isinstance(value, str):
            with suppress(ValueError):  # not a date after all: shown as stored
                shown[key] = date_format(date.fromisoformat(value), "DATE_FORMAT")
    return shown


# Statuses, in the order they are decided.
FULFILLED = "fulfilled"
WAIVED = "waived"
EXEMPT = "exempt"
DEFERRED = "deferred"
BREACHED = "breached"
IN_SERVICE = "in_service"
PENDING_RETURN = "pending_return"

EMPLOYMENT = "employment"
RESIDENCE = "residence"

# Verification tiers, weakest first (an uploaded document counts as one once it is accepted).
TIER_SELF_REPORT = 1
TIER_DOCUMENT = 2
TIER_EMPLOYER = 3
TIER_ADMINISTRATIVE = 4
VERIFIED = TIER_DOCUMENT  # from this tier up an episode is verified


@dataclass(frozen=True)
class Rule:
    months_required: int
    window_months: int
    grace_months: int = 0
    countries: frozenset[str] = frozenset({"KAZ"})
    regions: frozenset[str] = frozenset()  # present-day codes (see territory); empty: anywhere
    specialty_required: bool = False


@dataclass(frozen=True)
class Span:
    """An episode as the arithmetic sees it."""

    kind: str
    start: date
    end: date | None
    country: str
    region: str = ""
    specialty_related: bool | None = None
    tier: int = TIER_SELF_REPORT
    key: Any = None


@dataclass(frozen=True)
class Pause:
    kind: str  # deferral, exemption or waiver
    start: date
    end: date | None = None


@dataclass
class Standing:
    status: str
    reason: Text
    window_start: date
    window_end: date  # inclusive
    served_days: int
    required_days: int
    deadline: date | None  # the last day qualifying work can start and still complete the months owed
    returned_on: date | None
    basis_tier: int  # strongest tier behind the status (0: nothing on record)
    fulfilled_on: date | None = None  # the day the months required were reached
    month_days: float = DAYS_PER_MONTH  # the length of a month for this participant (see standing)
    counted: list[Any] = field(default_factory=list)  # keys of the spans that count
    excluded: dict[Any, Text] = field(default_factory=dict)  # key: why it does not count
    risks: list[Text] = field(default_factory=list)

    @property
    def months_served(self) -> float:
        return round(self.served_days / self.month_days, 2)

    @property
    def months_owed(self) -> float:
        return round(max(0, self.required_days - self.served_days) / self.month_days, 2)

    @property
    def window_days(self) -> int:
        return (self.window_end - self.window_start).days + 1

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)


def required_days_from(start: date, months: int) -> int:
    """The days in `months` calendar months from `start` (five years from 2021-01-01: 1,826)."""
    return (start + relativedelta(months=months) - start).days


def rule_territory(regions: Iterable[str], adopted_on: date) -> frozenset[str]:
    """The present-day regions a rule's region codes cover (as the codes stood when it was adopted)."""
    out: set[str] = set()
    for code in regions:
        out |= region_territory(code, adopted_on)
    return frozenset(out)


def qualifies(span: Span, rule: Rule) -> Text | str:
    """Why `span` does not count towards the obligation ('' when it does)."""
    if span.kind != EMPLOYMENT:
        return Text(gettext_noop("residence, not work"))
    if span.country not in rule.countries:
        return Text(gettext_noop("work in %(country)s, not in %(allowed)s"), country=span.country or "?",
                    allowed=", ".join(sorted(rule.countries)))  # fmt: skip
    if rule.regions:
        if not span.region:
            return Text(gettext_noop("the region is not known and the rule names regions"))
        try:
            territory = region_territory(span.region, span.start)
        except ValueError:
            return Text(gettext_noop("unknown region %(region)s"), region=span.region)
        if not territory <= rule.regions:
            return Text(gettext_noop("%(region)s is not a qualifying region"), region=span.region)
    if rule.specialty_required and span.specialty_related is not True:
        return Text(gettext_noop("not recorded as work in the specialty"))
    return ""


def _union_days(intervals: Iterable[tuple[date, date]]) -> int:
    """Days covered by inclusive [start, end] intervals, each day once."""
    total, current_start, current_end = 0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end + timedelta(days=1):
            if current_end is not None:
                total += (current_end - current_start).days + 1
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None:
        total += (current_end - current_start).days + 1
    return total


def _day_reaching(intervals: Iterable[tuple[date, date]], days: int) -> date | None:
    """The day on which the union of `intervals` first covers `days` days (None if it never does)."""
    total, current_start, current_end = 0, None, None
    merged = []
    for start, end in sorted(intervals):
        if current_end is None or start > current_end + timedelta(days=1):
            if current_end is not None:
                merged.append((current_start, current_end))
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None:
        merged.append((current_start, current_end))
    for start, end in merged:
        length = (end - start).days + 1
        if total + length >= days:
            return start + timedelta(days=days - total - 1)
        total += length
    return None


def _reform_pieces(span: Span, today: date) -> list[Span]:
    """`span`, cut at the 2022 regional split when it runs across it in a region the split changed."""
    end = span.end or today
    if not span.region or not (span.start < REGION_REFORM_DATE <= end):
        return [span]
    try:
        code = region_code(span.region)
    except ValueError:
        return [span]
    if code not in REGION_SPLITS:
        return [span]
    return [
        replace(span, end=REGION_REFORM_DATE - timedelta(days=1)),
        replace(span, start=REGION_REFORM_DATE),
    ]


def _clip(start: date, end: date, low: date, high: date) -> tuple[date, date] | None:
    start, end = max(start, low), min(end, high)
    return (start, end) if start <= end else None


def _active(pause: Pause, today: date) -> bool:
    return pause.start <= today and (pause.end is None or pause.end >= today)


def standing(
    rule: Rule,
    start: date,
    spans: Sequence[Span],
    pauses: Sequence[Pause] = (),
    *,
    today: date,
    unverified_months: int | None = None,
) -> Standing:
    """The participant's standing on `today`: months served, status with its reason, risks."""
    # Deferrals lengthen the window by the days they cover (each day once, only days so far).
    deferrals = [
        (max(p.start, start), min(p.end or today, today)) for p in pauses if p.kind == "deferral" and p.start <= today
    ]
    deferred_days = _union_days(d for d in deferrals if d[0] <= d[1])
    window_end = start + relativedelta(months=rule.window_months) - timedelta(days=1) + timedelta(days=deferred_days)
    # A month is the participant's own calendar month: the months required, counted from the start.
    required_days = required_days_from(start, rule.months_required)
    month_days = required_days / max(rule.months_required, 1)
    last_day = min(today, window_end)

    counted, excluded, intervals = [], {}, []
    for span in spans:
        why, found = "", []
        # Either side of the 2022 split, a region code covers a different territory.
        for piece in _reform_pieces(span, today):
            why = qualifies(piece, rule)
            if why:
                continue
            clipped = _clip(piece.start, piece.end or today, start, last_day)
            if clipped is not None:
                found.append(clipped)
        if not found:
            excluded[span.key] = why or Text(gettext_noop("outside the obligation window"))
            continue
        counted.append(span.key)
        intervals.extend(found)
    served = _union_days(intervals)
    owed = max(0, required_days - served)
    deadline = window_end - timedelta(days=owed - 1) if owed else None

    at_home = [
        s for s in spans if s.country in rule.countries and s.start <= today and (s.end is None or s.end >= start)
    ]
    returned_on = min((max(s.start, start) for s in at_home), default=None)
    serving_now = [s for s in spans if s.key in counted and s.start <= today and (s.end is None or s.end >= today)]
    recent = today - relativedelta(months=12)
    basis = {
        IN_SERVICE: serving_now,
        FULFILLED: [s for s in spans if s.key in counted],
    }

    pause_now = {p.kind for p in pauses if _active(p, today)}
    months = lambda days: f"{days / month_days:.1f}"  # noqa: E731
    if served >= required_days:
        status = FULFILLED
        reason = Text(gettext_noop("%(served)s qualifying months served of %(required)s required"), served=months(served),
                      required=rule.months_required)  # fmt: skip
    elif "waiver" in pause_now:
        status, reason = WAIVED, Text(gettext_noop("the obligation was waived"))
    elif "exemption" in pause_now:
        status, reason = EXEMPT, Text(gettext_noop("exempt from the obligation"))
    elif "deferral" in pause_now:
        status, reason = (
            DEFERRED,
            Text(gettext_noop("the obligation is deferred; the window is lengthened by the deferral")),
        )
    elif today > window_end:
        status = BREACHED
        reason = Text(gettext_noop("the window closed on %(date)s with %(owed)s months still owed"), date=window_end.isoformat(),
                      owed=months(owed))  # fmt: skip
    elif serving_now:
        since = min(s.start for s in serving_now).isoformat()
        status, reason = IN_SERVICE, Text(gettext_noop("in qualifying work since %(date)s"), date=since)
    elif returned_on is None:
        status, reason = PENDING_RETURN, Text(gettext_noop("no return to a qualifying country on record"))
    else:
        status = PENDING_RETURN
        reason = Text(
            gettext_noop("back since %(date)s, no qualifying work on record now"), date=returned_on.isoformat()
        )
    chosen = basis.get(status) or [s for s in spans if (s.end is None or s.end >= recent)]
    basis_tier = max((s.tier for s in chosen), default=0)

    risks: list[str] = []
    if status in (IN_SERVICE, PENDING_RETURN):
        # Every day of the window not yet counted could still count (today too, unless it already does).
        remaining = (window_end - today).days + (0 if serving_now else 1)
        if remaining < owed:
            risks.append(Text(gettext_noop("the %(left)s months left in the window cannot cover the %(owed)s months owed"),
                              left=months(remaining), owed=months(owed)))  # fmt: skip
        if returned_on is None and today >= start + relativedelta(months=rule.grace_months):
            risks.append(Text(gettext_noop("not back %(months)s months after the obligation started (the grace period)"),
                              months=rule.grace_months))  # fmt: skip
        if unverified_months is not None:
            since = today - relativedelta(months=unverified_months)
            verified = [s for s in spans if s.tier >= VERIFIED and (s.end is None or s.end >= since)]
            if not verified:
                risks.append(
                    Text(gettext_noop("no verified episode in the last %(months)s months"), months=unverified_months)
                )
    return Standing(
        status=status,
        reason=reason,
        window_start=start,
        window_end=window_end,
        served_days=served,
        required_days=required_days,
        deadline=deadline,
        returned_on=returned_on,
        basis_tier=basis_tier,
        fulfilled_on=_day_reaching(intervals, required_days) if served >= required_days else None,
        month_days=month_days,
        counted=counted,
        excluded=excluded,
        risks=risks,
    )
