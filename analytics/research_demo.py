"""Demo research requests: the demo researcher's approved request with its files, and one awaiting review.

Both go through the services a researcher and an administrator use (submit, review, the
export job); rerunning adds nothing when the researcher already has requests.
"""

from __future__ import annotations

from accounts.models import Role, User
from surveys.models import Response, Survey

from .models import ResearchRequest
from .services import research

PURPOSE = {
    "approved": "Which barriers keep graduates abroad, by field of study and host region (doctoral thesis, KIMEP).",
    "pending": "Return intentions and engagement from abroad of Bolashak alumni, by cohort (policy brief).",
}


def research_demo_load() -> list[ResearchRequest]:
    researcher = User.objects.filter(username="researcher", role=Role.RESEARCHER).first()
    survey = Survey.objects.filter(slug="graduate-return").select_related("programme").first()
    if researcher is None or survey is None or ResearchRequest.objects.filter(requested_by=researcher).exists():
        return []
    waves = list(survey.waves.filter(responses__status=Response.Status.COMPLETE).distinct().order_by("opens_at"))
    reviewer = survey.programme.administrators.first() if survey.programme else None
    if not waves or reviewer is None:
        return []
    common = {"user": researcher, "survey": survey, "language": "en", "institution": "KIMEP University",
              "terms_accepted": True}  # fmt: skip
    approved = research.research_request_submit(
        **common, waves=waves, licence="licensed", formats=["csv", "sav", "dta", "parquet", "xlsx"],
        variables=["country_residence", "field_of_study", "programme", "departure_year", "study_level",
                   "return_intention", "likelihood_5y", "barrier_salary", "barrier_bureaucracy", "barrier_career",
                   "barrier_research", "return_factors", "engagement_modes"],
        purpose=PURPOSE["approved"],
    )  # fmt: skip
    research.research_request_review(request=approved, user=reviewer, decision="approve",
                                     variables=[v for v in approved.variables if v != "engagement_modes"],
                                     reason="Engagement modes are not needed for the stated purpose.")  # fmt: skip
    pending = research.research_request_submit(
        **common, waves=waves[1:2] or waves[:1], licence="public", formats=["csv", "parquet"],
        variables=["country_residence", "city_residence", "programme", "departure_year", "return_intention",
                   "engagement_modes", "consent_registry"],
        purpose=PURPOSE["pending"],
    )  # fmt: skip
    return [approved, pending]
