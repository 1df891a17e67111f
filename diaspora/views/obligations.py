"""Work obligations: the administrators' returns pages, a participant's own record, and the
employer's confirmation page (a signed link, no account). Rows come from
``diaspora.selectors_obligations``; every change goes through ``diaspora.services.obligations``."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.scoping import administered

from .. import obligation_time as ot
from .. import selectors_obligations as scope
from ..forms_obligations import EmployerAnswerForm, EmployerRequestForm, EpisodeForm, ImportForm, PauseForm
from ..models import Episode, ObligationImport, ObligationPause, ObligationStatus, Participation
from ..selectors import viewer_is_admin
from ..services import obligations as service
from ..services.obligation_imports import episodes_import, participants_import
from ..services.obligation_indicators import programme_indicators
from ..vocabularies.geography import region_choices, region_label
from .common import PAGE_SIZE, allowed_if, forbidden, page

admins_only = allowed_if(viewer_is_admin, lambda: _("Returns and work obligations are for programme administrators."))


def tier_label(tier: int) -> str:
    labels = {
        0: _("nothing on record"),
        ot.TIER_SELF_REPORT: _("self-report"),
        ot.TIER_DOCUMENT: _("document accepted"),
        ot.TIER_EMPLOYER: _("employer confirmation"),
        ot.TIER_ADMINISTRATIVE: _("administrative record"),
    }
    return str(labels.get(tier, tier))


def _language() -> str:
    return (get_language() or "en").split("-")[0]


# --------------------------------------------------------------------------- administrators


@admins_only
def overview(request: HttpRequest) -> HttpResponse:
    """An administrator's returns home: cohorts, indicators with their denominators, the at-risk list."""
    programmes = list(administered(request.user).annotate(n=Count("participations")).order_by("-n", "slug"))
    chosen = next(
        (p for p in programmes if p.slug == request.GET.get("programme")), programmes[0] if programmes else None
    )
    context: dict[str, Any] = {
        "programmes": programmes,
        "programme": chosen,
        "import_form": ImportForm(programmes=programmes),
    }
    if chosen is not None:
        participations = scope.participations_administered(request.user).filter(programme=chosen)
        statuses = [s for s, _label in ObligationStatus.choices]
        cohorts = (
            participations.order_by("cohort").values("cohort")
            .annotate(n=Count("id"), at_risk=Count("id", filter=Q(at_risk=True)),
                      **{s: Count("id", filter=Q(status=s)) for s in statuses})
        )  # fmt: skip
        indicators = programme_indicators(participations)
        context.update(
            cohorts=[{**row, "by_status": [row[s] for s in statuses]} for row in cohorts],
            statuses=ObligationStatus.choices,
            indicators=indicators,
            charts=_charts(indicators),
            at_risk=scope.participations_at_risk(request.user, chosen.pk)[:20],
            at_risk_total=participations.filter(at_risk=True).count(),
            to_review=scope.documents_to_review(request.user).filter(participation__programme=chosen)[:20],
            imports=[
                _report(record) for record in scope.imports_administered(request.user).filter(programme=chosen)[:5]
            ],
            rules=scope.rules_administered(request.user).filter(programme=chosen),
            synthetic=participations.filter(synthetic=True).exists(),
        )
        context["import_form"] = ImportForm(programmes=programmes, initial={"programme": chosen.slug})
    return page(request, "diaspora/obligations/overview.html", context, current="returns")


def _report(record: ObligationImport) -> ObligationImport:
    """The report's rows with one detail each (the reason, else how it was linked, else the id)."""
    record.rows = [
        {"row": entry.get("row"), "status": entry.get("status", ""),
         "detail": entry.get("reason") or entry.get("link") or entry.get("external_id") or ""}
        for entry in (record.report or [])[:200]
    ]  # fmt: skip
    return record


def _charts(indicators: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    returns = [i for i in indicators["rates"] if i.code.startswith("return_")]
    cohorts = sorted({r.cohort for i in returns for r in i.rows if r.cohort != "all"})
    if cohorts:
        charts.append({
            "id": "return-rates",
            "title": _("Return within 6, 12 and 24 months of graduation, by cohort (%)"),
            "chart": {
                "type": "bar", "percent": True, "max": 100, "labels": [str(c) for c in cohorts],
                "datasets": [
                    {"label": str(i.label), "data": [
                        next((round(100 * r.rate, 1) for r in i.rows if r.cohort == c and r.rate is not None), None)
                        for c in cohorts
                    ]} for i in returns
                ],
            },
            "note": _("Denominator: participants whose graduation is at least that long ago. Missing bars: fewer "
                      "than %(k)s people, or suppressed to protect small groups.") % {"k": indicators["threshold"]},
        })  # fmt: skip
    for code, title in (
        ("time_to_return", _("Share not yet back, by months since graduation (Kaplan-Meier)")),
        (
            "time_to_fulfil",
            _("Share who have not yet completed the obligation, by months since graduation (Kaplan-Meier)"),
        ),
    ):
        curves = [c for c in indicators["curves"] if c.code == code]
        if not curves:
            continue
        last = int(max(p["month"] for c in curves for p in c.points)) + 1
        months = list(range(0, last + 1, 3))
        charts.append({
            "id": code.replace("_", "-"),
            "title": title,
            "chart": {
                "type": "line", "percent": True, "max": 100, "labels": [str(m) for m in months],
                "datasets": [{"label": f"{c.cohort} (n={c.n})", "data": _steps(c.points, months)} for c in curves],
            },
            "note": _("Cohorts still inside their window, censored today; a curve stops where fewer than %(k)s "
                      "remain at risk.") % {"k": indicators["threshold"]},
        })  # fmt: skip
    return charts


def _steps(points: list[dict[str, float]], months: list[int]) -> list[float | None]:
    out, last_month = [], points[-1]["month"]
    for month in months:
        before = [p for p in points if p["month"] <= month]
        out.append(round(100 * before[-1]["survival"], 1) if before and month <= last_month + 3 else None)
    return out


@admins_only
def participants(request: HttpRequest) -> HttpResponse:
    filters = {
        key: request.GET.get(key, "").strip()
        for key in ("programme", "cohort", "status", "at_risk", "region", "tier", "q")
    }
    queryset = scope.participants_listed(request.user, search=filters.pop("q"), **filters)
    listing = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": listing,
        "filters": {**filters, "q": request.GET.get("q", "")},
        "programmes": administered(request.user).order_by("slug"),
        "statuses": ObligationStatus.choices,
        "regions": region_choices(_language()),
        "tiers": [(str(t), tier_label(t)) for t in range(0, 5)],
        "query": _without_page(request),
    }
    return page(request, "diaspora/obligations/participants.html", context, current="returns")


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _timeline(participation: Participation) -> tuple[list[dict[str, Any]], ot.Standing]:
    """The episodes with whether each counts (and why not), as the arithmetic sees them."""
    episodes = list(participation.episodes.order_by("start", "id"))
    rows = [{name: getattr(e, name) for name in service.EPISODE_VALUES} for e in episodes]
    pauses = list(participation.pauses.values(*service.PAUSE_VALUES))
    standing = service.standing_of(
        participation, service.arithmetic_rule(participation.rule), rows, pauses, service.today()
    )
    timeline = [
        {"episode": e, "counts": e.pk in standing.counted,
         "why_not": ot.translated(standing.excluded[e.pk].pair()) if e.pk in standing.excluded else "",
         "tier": tier_label(e.tier), "region": region_label(e.region, _language()) if e.region else ""}
        for e in episodes
    ]  # fmt: skip
    return timeline, standing


def _participant_context(request, participation: Participation, as_admin: bool) -> dict[str, Any]:
    timeline, _standing = _timeline(participation)
    rule = participation.rule
    return {
        "p": participation,
        "as_admin": as_admin,
        "timeline": timeline,
        "rule": rule,
        "rule_regions": [region_label(code, _language()) for code in rule.regions],
        "tier": tier_label(participation.basis_tier),
        "pauses": participation.pauses.order_by("start"),
        "history": participation.history.order_by("-created_at", "-id")[:50],
        "episode_form": EpisodeForm(language=_language()),
        "pause_form": PauseForm(),
        "employer_form": EmployerRequestForm(),
        "progress": min(100, round(100 * float(participation.months_served) / max(rule.months_required, 1))),
    }


@login_required
def participant(request: HttpRequest, participation_id: int) -> HttpResponse:
    participation, as_admin = scope.participation_for(request.user, participation_id)
    if participation is None:
        raise Http404
    template = "diaspora/obligations/participant.html"
    return page(
        request,
        template,
        _participant_context(request, participation, as_admin),
        current="returns" if as_admin else "obligations",
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """A participant's own obligations (usually one)."""
    own = list(scope.participations_own(request.user))
    if len(own) == 1:
        return page(
            request,
            "diaspora/obligations/participant.html",
            _participant_context(request, own[0], False),
            current="obligations",
        )
    return page(request, "diaspora/obligations/mine.html", {"participations": own}, current="obligations")


def _back(participation: Participation, as_admin: bool):
    return (
        redirect("diaspora-obligation", participation_id=participation.pk)
        if as_admin
        else redirect("diaspora-my-obligations")
    )


@login_required
@require_POST
def episode_add(request: HttpRequest, participation_id: int) -> HttpResponse:
    participation, as_admin = scope.participation_for(request.user, participation_id)
    if participation is None:
        raise Http404
    form = EpisodeForm(request.POST, request.FILES, language=_language())
    if form.is_valid():
        data = dict(form.cleaned_data)
        # An administrator's entry is an administrative record; a participant's is their word (a
        # self-report) until the programme accepts the document that comes with it.
        source = Episode.Source.ADMINISTRATIVE if as_admin and not data.get("document") else Episode.Source.PARTICIPANT
        try:
            service.episode_record(participation, data, source=source, user=request.user, document=data.get("document"))
        except service.ObligationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The episode is recorded; months served are worked out again."))
    else:
        messages.error(
            request,
            "; ".join(
                f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}" for k, v in form.errors.items()
            ),
        )
    return _back(participation, as_admin)


@admins_only
@require_POST
def pause_add(request: HttpRequest, participation_id: int) -> HttpResponse:
    participation = scope.participations_administered(request.user).filter(pk=participation_id).first()
    if participation is None:
        raise Http404
    form = PauseForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            service.pause_record(
                participation, form.cleaned_data, user=request.user, evidence=form.cleaned_data.get("evidence")
            )
        except service.ObligationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Recorded; the status is worked out again."))
    else:
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
    return _back(participation, True)


def _visible_episode(request: HttpRequest, episode_id: int) -> tuple[Episode, bool]:
    episode = Episode.objects.select_related("participation").filter(pk=episode_id).first()
    if episode is None:
        raise Http404
    participation, as_admin = scope.participation_for(request.user, episode.participation_id)
    if participation is None:
        raise Http404
    return episode, as_admin


@login_required
def document(request: HttpRequest, episode_id: int) -> HttpResponse:
    """A participant's document, for them and their programme's administrators only."""
    episode, _as_admin = _visible_episode(request, episode_id)
    if not episode.document:
        raise Http404
    content_type = mimetypes.guess_type(episode.document.name)[0] or "application/octet-stream"
    response = FileResponse(episode.document.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="episode-{episode.pk}{_suffix(episode.document.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@admins_only
@require_POST
def link_choose(request: HttpRequest, participation_id: int) -> HttpResponse:
    participation = scope.participations_administered(request.user).filter(pk=participation_id).first()
    if participation is None:
        raise Http404
    try:
        pk = int(request.POST.get("id", ""))
        service.participation_link_choose(participation, kind=request.POST.get("kind", ""), pk=pk)
    except (ValueError, service.ObligationError) as error:
        messages.error(request, str(error) if isinstance(error, service.ObligationError) else _("Choose a candidate."))
    else:
        messages.success(
            request, _("Linked; their survey answers and registry profile now count for this participant.")
        )
    return _back(participation, True)


@admins_only
def evidence(request: HttpRequest, pause_id: int) -> HttpResponse:
    """The evidence of a deferral, exemption or waiver, for the programme's administrators."""
    pause = ObligationPause.objects.filter(
        pk=pause_id, participation__in=scope.participations_administered(request.user)
    ).first()
    if pause is None or not pause.evidence:
        raise Http404
    content_type = mimetypes.guess_type(pause.evidence.name)[0] or "application/octet-stream"
    response = FileResponse(pause.evidence.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{pause.pk}{_suffix(pause.evidence.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


@admins_only
@require_POST
def review(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode, as_admin = _visible_episode(request, episode_id)
    if not as_admin:
        return forbidden(request, _("Documents are reviewed by the programme's administrators."))
    try:
        service.document_review(episode, accepted=request.POST.get("decision") == "accept", user=request.user)
    except service.ObligationError as error:
        messages.error(request, str(error))
    return redirect("diaspora-obligation", participation_id=episode.participation_id)


@login_required
@require_POST
def employer_request(request: HttpRequest, episode_id: int) -> HttpResponse:
    episode, as_admin = _visible_episode(request, episode_id)
    form = EmployerRequestForm(request.POST)
    if form.is_valid():
        try:
            service.employer_link_request(episode, email=form.cleaned_data["email"], user=request.user,
                                          base_url=request.build_absolute_uri("/"))  # fmt: skip
        except service.ObligationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The employer has been sent a link to confirm this episode."))
    else:
        messages.error(request, _("Enter the employer's e-mail address."))
    return _back(episode.participation, as_admin)


@admins_only
@require_POST
def import_file(request: HttpRequest) -> HttpResponse:
    programmes = list(administered(request.user))
    form = ImportForm(request.POST, request.FILES, programmes=programmes)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return redirect("diaspora-obligations")
    programme = next(p for p in programmes if p.slug == form.cleaned_data["programme"])
    upload = form.cleaned_data["file"]
    run = participants_import if form.cleaned_data["kind"] == ObligationImport.Kind.PARTICIPANTS else episodes_import
    record = run(programme=programme, data=upload.read(), filename=upload.name, user=request.user)
    if record.applied:
        messages.success(
            request,
            _("%(file)s: %(added)s added, %(updated)s updated, %(unchanged)s unchanged, %(flagged)s flagged.")
            % {"file": record.filename, "added": record.added, "updated": record.updated,
               "unchanged": record.unchanged, "flagged": record.flagged},
        )  # fmt: skip
    else:
        messages.error(
            request,
            _("%(file)s was not imported: nothing was changed. See the report below.") % {"file": record.filename},
        )
    return redirect(f"{reverse('diaspora-obligations')}?programme={programme.slug}#imports")


# --------------------------------------------------------------------------- employers


def employer_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """What the employer sees: this one episode, to confirm or correct. No account, no other data."""
    try:
        confirmation = service.employer_link_open(token)
    except service.LinkRefused as error:
        return render(request, "diaspora/obligations/employer.html", {"refused": str(error)}, status=410)
    episode = confirmation.episode
    initial = {"start": episode.start, "end": episode.end, "employer": episode.employer,
               "specialty_related": episode.specialty_related}  # fmt: skip
    form = EmployerAnswerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        corrections = {} if request.POST.get("action") == "confirm" else {
            "start": form.cleaned_data["start"], "end": form.cleaned_data["end"],
            "employer": form.cleaned_data["employer"], "specialty_related": form.cleaned_data["specialty_related"],
        }  # fmt: skip
        try:
            done = service.employer_link_answer(token, corrections=corrections)
        except service.ObligationError as error:
            form.add_error(None, str(error))
        else:
            return render(request, "diaspora/obligations/employer.html", {"done": done})
    context = {"confirmation": confirmation, "episode": episode, "name": episode.participation.full_name,
               "programme": episode.participation.programme, "form": form}  # fmt: skip
    return render(request, "diaspora/obligations/employer.html", context)
