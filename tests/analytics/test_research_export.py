"""Anonymised research exports: the workflow, the files, and an independent check of their anonymity."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import pandas as pd
import pyreadstat
import pytest
from django.core.exceptions import PermissionDenied
from django.test import TestCase
from django.utils import timezone
from pycanon import anonymity as pycanon  # noqa: E402 (the independent checker; requirements-checker.txt)

from accounts.models import AuditEvent, Programme, Role
from analytics.models import ResearchExport, ResearchRequest, VariableRole
from analytics.services import research
from analytics.services.research_roles import survey_variables, variable_role_set
from tests.analytics.waves import add_answers, wave_with_answers
from tests.factories import UserFactory

FORMATS = ["csv", "xlsx", "sav", "dta", "parquet"]
QUASI = ["country_residence", "city_residence", "field_of_study", "programme", "departure_year", "study_level"]
SENSITIVE = ["return_intention", "likelihood_5y"]
OTHER = ["barrier_salary", "return_factors", "employment_status"]


@pytest.fixture
def world(graduate_version, bolashak, designer, tasks_in_process):
    survey = graduate_version.survey
    survey.programme = bolashak
    survey.save(update_fields=["programme"])
    wave = wave_with_answers(graduate_version, "grad-2025", 400, seed=3)
    researcher = UserFactory(username="researcher", role=Role.RESEARCHER)
    return {"survey": survey, "wave": wave, "admin": designer, "researcher": researcher}


def submit(world, *, variables=None, formats=None, licence="licensed", language="en"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return research.research_request_submit(
            user=world["researcher"], survey=world["survey"], waves=[world["wave"]],
            variables=variables or QUASI + SENSITIVE + OTHER, formats=formats or FORMATS, language=language,
            purpose="Return intentions by field", institution="Nazarbayev University", licence=licence,
            terms_accepted=True,
        )  # fmt: skip


def approve(world, request, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        research.research_request_review(request=request, user=world["admin"], decision="approve", **kwargs)
    return request.exports.filter(kind=ResearchExport.Kind.EXPORT).latest("id")


def files_of(export) -> dict[str, bytes]:
    with export.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def checked(frame: pd.DataFrame, quasi: list[str], sensitive: list[str], k: int, l_div: int) -> None:
    """pycanon on the published file: a missing value counts as a value (it is one in the file)."""
    data = frame[quasi + sensitive].astype(object).where(frame[quasi + sensitive].notna(), "<missing>").astype(str)
    assert pycanon.k_anonymity(data, quasi) >= k
    assert pycanon.l_diversity(data, quasi, sensitive) >= l_div


# --------------------------------------------------------------------------- roles


def test_default_roles_come_from_the_instrument(world):
    roles = {v.name: (v.role, v.hierarchy) for v in survey_variables(world["survey"])}
    assert roles["country_residence"] == ("quasi", "country")
    assert roles["city_residence"] == ("quasi", "text")
    assert roles["field_of_study"] == ("quasi", "field")
    assert roles["departure_year"] == ("quasi", "year")
    assert roles["salary_band"] == ("sensitive", "income")
    assert roles["return_intention"][0] == "sensitive"
    assert roles["barrier_salary"][0] != "direct"


def test_an_administrator_changes_a_role_and_it_is_audited(world):
    variable_role_set(survey=world["survey"], name="city_residence", role="free_text", hierarchy="none",
                      reviewed=True, user=world["admin"])  # fmt: skip
    info = {v.name: v for v in survey_variables(world["survey"])}["city_residence"]
    assert (info.role, info.reviewed, info.overridden) == ("free_text", True, True)
    assert AuditEvent.objects.filter(action="research.variable_role_changed").exists()


# --------------------------------------------------------------------------- the files


def test_an_approved_request_yields_files_the_checker_passes(world):
    request = submit(world)
    dry = request.exports.get(kind=ResearchExport.Kind.DRY_RUN)
    assert dry.status == "complete", dry.error
    assert dry.report["k"] == 3 and "risk_before" in dry.report
    export = approve(world, request)
    assert export.status == "complete", export.error
    files = files_of(export)
    assert {"data.csv", "data.xlsx", "data.sav", "data.dta", "data.parquet", "codebook.csv", "codebook.json",
            "codebook.html", "codebook.ddi.xml", "disclosure_report.json", "README.txt"} <= set(files)  # fmt: skip
    frame = pd.read_parquet(io.BytesIO(files["data.parquet"]))
    assert len(frame) == export.row_count > 0
    assert export.report["quasi_identifiers"] == QUASI and export.report["sensitive"] == SENSITIVE
    checked(frame, QUASI, SENSITIVE, 3, 2)
    csv_frame = pd.read_csv(io.BytesIO(files["data.csv"]), dtype=str, keep_default_na=False)
    checked(csv_frame.replace("", None), QUASI, SENSITIVE, 3, 2)
    report = json.loads(files["disclosure_report.json"])
    assert report["k_achieved"] >= 3 and report["l_achieved"] >= 2
    assert {v["variable"] for v in report["variables"]} == set(QUASI)


def test_a_public_file_is_five_anonymous(world):
    request = submit(world, licence="public", formats=["parquet"])
    export = approve(world, request)
    frame = pd.read_parquet(io.BytesIO(files_of(export)["data.parquet"]))
    checked(frame, QUASI, SENSITIVE, 5, 2)


def test_no_identifier_pattern_is_in_any_file(world):
    add_answers(world["wave"], 5, seed=9, city_residence="ivan@example.com +7 701 123 4567 880101300123")
    request = submit(world, variables=QUASI + SENSITIVE + OTHER)
    export = approve(world, request)
    patterns = [re.compile(rb"[\w.+-]+@[\w-]+\.[\w.]+"), re.compile(rb"\+?\d[\d ()-]{9,}\d"),
                re.compile(rb"(?<!\d)\d{12}(?!\d)")]  # fmt: skip
    for name, content in files_of(export).items():
        if name.endswith((".xlsx", ".parquet")):
            continue  # compressed: read through their libraries below
        for pattern in patterns:
            assert not pattern.search(content), name
    texts = pd.read_parquet(io.BytesIO(files_of(export)["data.parquet"])).astype(str).to_csv().encode()
    assert not any(p.search(texts) for p in patterns[:2])


def test_direct_identifiers_and_unreviewed_free_text_are_left_out(world):
    variable_role_set(survey=world["survey"], name="city_residence", role="direct", hierarchy="none",
                      reviewed=False, user=world["admin"])  # fmt: skip
    request = submit(world, variables=["city_residence", "country_residence", "return_intention"], formats=["csv"])
    export = approve(world, request)
    header = files_of(export)["data.csv"].decode().splitlines()[0]
    assert "city_residence" not in header and "country_residence" in header
    assert export.report["left_out"] == ["city_residence"]


def test_spss_and_stata_read_back_with_labels(world):
    request = submit(world, formats=["sav", "dta"], language="ru")
    export = approve(world, request)
    files = files_of(export)
    for name, reader in (("data.sav", pyreadstat.read_sav), ("data.dta", pyreadstat.read_dta)):
        path = f"/tmp/kelu-test-{export.pk}-{name}"
        with open(path, "wb") as handle:
            handle.write(files[name])
        frame, meta = reader(path)
        assert len(frame) == export.row_count
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert any(re.search("[а-яА-Я]", label or "") for label in labels.values())  # Russian labels
        assert meta.variable_value_labels.get("return_intention")
        values = set(meta.variable_value_labels["return_intention"].values())
        assert any(re.search("[а-яА-Я]", v) for v in values)


def test_formula_payloads_come_out_inert(world):
    variable_role_set(survey=world["survey"], name="city_residence", role="free_text", hierarchy="none",
                      reviewed=True, user=world["admin"])  # fmt: skip
    add_answers(world["wave"], 3, seed=11, city_residence='=HYPERLINK("http://x","y")')
    request = submit(world, variables=["city_residence", "return_intention"], formats=["csv", "xlsx"])
    export = approve(world, request)
    files = files_of(export)
    assert b"\n=HYPERLINK" not in files["data.csv"] and b",=HYPERLINK" not in files["data.csv"]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(files["data.xlsx"]))
    cells = [c.value for row in book["data"].iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(value.startswith("=") for value in cells)


def test_codebook_has_labels_frequencies_and_ddi(world):
    request = submit(world, formats=["csv"], language="kk")
    export = approve(world, request)
    files = files_of(export)
    codebook = json.loads(files["codebook.json"])
    intention = next(v for v in codebook["variables"] if v["name"] == "return_intention")
    assert intention["role"] == "sensitive" and intention["categories"]
    assert all(c["frequency"] is None or c["frequency"] >= 3 for c in intention["categories"])
    root = ET.fromstring(files["codebook.ddi.xml"])
    ns = {"d": "ddi:codebook:2_5"}
    assert root.tag == "{ddi:codebook:2_5}codeBook" and root.get("version") == "2.5"
    names = [v.get("name") for v in root.findall("d:dataDscr/d:var", ns)]
    assert "return_intention" in names and "pid" in names
    assert root.find("d:stdyDscr/d:citation/d:titlStmt/d:titl", ns).text


def test_pseudonyms_differ_across_exports(world):
    first = approve(world, submit(world, formats=["parquet"]))
    add_answers(world["wave"], 1, seed=12)  # new data: a new build, a new key
    second = approve(world, submit(world, formats=["parquet"]))
    a = set(pd.read_parquet(io.BytesIO(files_of(first)["data.parquet"]))["pid"])
    b = set(pd.read_parquet(io.BytesIO(files_of(second)["data.parquet"]))["pid"])
    assert a and b and not (a & b)


def test_same_parameters_on_unchanged_data_reuse_the_file(world):
    first = approve(world, submit(world, formats=["parquet"]))
    second = approve(world, submit(world, formats=["parquet"]))
    assert second.reused_from_id == first.pk and second.file.name == first.file.name


# --------------------------------------------------------------------------- the workflow


def test_another_programmes_administrator_cannot_approve(world):
    request = submit(world, formats=["csv"])
    other = UserFactory(username="serpin-admin", role=Role.PROGRAMME_ADMIN, is_staff=True)
    other.programmes.add(Programme.objects.create(slug="serpin", name="Serpin"))
    with pytest.raises(PermissionDenied):
        research.research_request_review(request=request, user=other, decision="approve")
    request.refresh_from_db()
    assert request.status == "submitted"


def test_a_refusal_needs_a_reason_and_is_audited(world):
    request = submit(world, formats=["csv"])
    with pytest.raises(research.RequestError):
        research.research_request_review(request=request, user=world["admin"], decision="refuse")
    research.research_request_review(request=request, user=world["admin"], decision="refuse", reason="Too detailed")
    assert AuditEvent.objects.filter(
        action="research.request_refused", target=f"analytics.ResearchRequest:{request.pk}"
    ).exists()


def test_narrowing_exports_only_the_approved_variables(world):
    request = submit(world, formats=["csv"])
    export = approve(world, request, variables=["country_residence", "return_intention"])
    header = files_of(export)["data.csv"].decode().splitlines()[0].split(",")
    assert header == ["pid", "wave", "country_residence", "return_intention"]
    actions = list(
        AuditEvent.objects.filter(target=f"analytics.ResearchRequest:{request.pk}").values_list("action", flat=True)
    )
    assert "research.request_narrowed" in actions


def test_only_the_requester_downloads_and_an_expired_link_is_gone(world, client):
    export = approve(world, submit(world, formats=["csv"]))
    url = f"/analytics/research/exports/{export.pk}/download/"
    other = UserFactory(username="other-researcher", role=Role.RESEARCHER)
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.force_login(world["researcher"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    ResearchExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.get(url).status_code == 410
    assert AuditEvent.objects.filter(action="research.export_downloaded").count() == 1


def test_a_request_needs_the_terms_and_known_variables(world):
    with pytest.raises(research.RequestError):
        research.research_request_submit(
            user=world["researcher"], survey=world["survey"], waves=[world["wave"]], variables=["nope"],
            formats=["csv"], language="en", purpose="x", institution="y", licence="licensed", terms_accepted=True,
        )  # fmt: skip
    with pytest.raises(research.RequestError):
        research.research_request_submit(
            user=world["researcher"], survey=world["survey"], waves=[world["wave"]], variables=QUASI,
            formats=["csv"], language="en", purpose="x", institution="y", licence="licensed", terms_accepted=False,
        )  # fmt: skip
    assert not ResearchRequest.objects.exists()


def test_a_stuck_export_is_reaped_and_completes(world, settings):
    request = submit(world, formats=["parquet"])
    with TestCase.captureOnCommitCallbacks(execute=False):
        research.research_request_review(request=request, user=world["admin"], decision="approve")
    export = request.exports.get(kind="export")
    # A worker claimed it and died: the row is running under a lease that has run out.
    ResearchExport.objects.filter(pk=export.pk).update(
        status="running", lease_until=timezone.now() - dt.timedelta(seconds=1), enqueued_at=timezone.now()
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert research.research_export_sweep() == [export.pk]
    export.refresh_from_db()
    assert export.status == "complete" and export.attempts == 1 and export.file


def test_run_twice_is_harmless(world):
    request = submit(world, formats=["csv"])
    export = approve(world, request)
    assert research.research_export_run(export.pk) is False
    export.refresh_from_db()
    assert export.status == "complete"


def test_variable_roles_are_stored_per_survey(world):
    variable_role_set(survey=world["survey"], name="study_level", role="other", hierarchy="none",
                      reviewed=False, user=world["admin"])  # fmt: skip
    assert VariableRole.objects.filter(survey=world["survey"], name="study_level").exists()
    variable_role_set(survey=world["survey"], name="study_level", role="other", hierarchy="none",
                      reviewed=False, user=world["admin"])  # fmt: skip
    assert AuditEvent.objects.filter(action="research.variable_role_changed").count() == 1


def test_the_command_runs_the_same_pipeline(world, tmp_path):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("research_export", wave=["grad-2025"], variables=",".join(QUASI + SENSITIVE), format="csv,parquet",
                 licence="public", output=str(tmp_path), stdout=out)  # fmt: skip
    archive = zipfile.ZipFile(tmp_path / "kelu-research-grad-2025.zip")
    frame = pd.read_parquet(io.BytesIO(archive.read("data.parquet")))
    checked(frame, QUASI, SENSITIVE, 5, 2)
    assert '"k_achieved"' in out.getvalue()


def test_the_command_refuses_unknown_variables(world, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown variables"):
        call_command("research_export", wave=["grad-2025"], variables="nope", output=str(tmp_path))


def test_the_api_offers_the_same_workflow(world):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world["researcher"])
    body = {"survey": world["survey"].slug, "waves": [world["wave"].slug], "variables": ["country_residence",
            "return_intention"], "formats": ["csv"], "language": "en", "licence": "licensed", "purpose": "Study",
            "institution": "KIMEP", "accept_terms": True}  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post("/api/v1/analytics/research/requests/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    other = APIClient()
    other.force_authenticate(UserFactory(username="someone-else", role=Role.RESEARCHER))
    assert other.get(f"/api/v1/analytics/research/requests/{pk}/").status_code == 404
    assert other.get("/api/v1/analytics/research/requests/").json() == []
    admin = APIClient()
    admin.force_authenticate(world["admin"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        reviewed = admin.post(
            f"/api/v1/analytics/research/requests/{pk}/review/", {"decision": "approve"}, format="json"
        )
    assert reviewed.status_code == 200, reviewed.content
    detail = client.get(f"/api/v1/analytics/research/requests/{pk}/").json()
    url = next(e["download_url"] for e in detail["exports"] if e["kind"] == "export")
    download = client.get(url)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert admin.get(url).status_code == 404  # the file is the requester's


def test_researchers_land_on_their_research_page(world, client):
    client.force_login(world["researcher"])
    assert client.get("/").url == "/analytics/research/"
    page = client.get("/analytics/research/")
    assert page.status_code == 200 and b"/analytics/research/new/" in page.content


# --------------------------------------------------------------------------- found in review


def test_a_top_coded_income_is_published_as_the_value_the_check_counted():
    from analytics.compute.anonymise import apply_top_code, number_text

    values = pd.Series(["1500000", "2000000", "2500000.5", "100"])
    coded = apply_top_code(values, 1500000.0, None)
    assert list(coded) == ["1500000", "1500000", "1500000", "100"] and number_text(1.5e6) == "1500000"


def test_several_waves_make_the_wave_a_quasi_identifier(world, graduate_version):
    second = wave_with_answers(graduate_version, "grad-2026", 300, seed=5, year=2026)
    with TestCase.captureOnCommitCallbacks(execute=True):
        request = research.research_request_submit(
            user=world["researcher"], survey=world["survey"], waves=[world["wave"], second],
            variables=QUASI + SENSITIVE, formats=["parquet"], language="en", purpose="Trends", institution="KIMEP",
            licence="licensed", terms_accepted=True,
        )  # fmt: skip
    export = approve(world, request)
    frame = pd.read_parquet(io.BytesIO(files_of(export)["data.parquet"]))
    assert set(frame["wave"]) == {"grad-2025", "grad-2026"} and export.report["quasi_identifiers"][0] == "wave"
    checked(frame, ["wave", *QUASI], SENSITIVE, 3, 2)


def test_a_derived_value_and_labelled_identifiers_get_safe_roles(world):
    roles = {v.name: v.role for v in survey_variables(world["survey"])}
    assert roles["years_abroad"] == "quasi"  # calculated from the departure year
    assert roles["barrier_services"] == "other"  # "education" in its label is not the respondent's education
    from analytics.services.research_roles import default_role
    from surveys.selectors_admin import MergedField

    assert default_role(MergedField("mob", "integer", "Mobile phone number"), "Mobile phone number")[0] == "direct"


def test_typed_answers_in_any_role_need_a_review(world):
    from analytics.services.research_roles import VariableInfo

    assert not VariableInfo("monthly_income", "text", "Income", role="sensitive").exported
    assert VariableInfo("monthly_income", "text", "Income", role="sensitive", reviewed=True).exported
    assert VariableInfo("city", "text", "City", role="quasi").exported  # generalised or suppressed


def test_a_multiple_choice_sensitive_variable_is_diverse_in_every_published_column(world):
    variable_role_set(survey=world["survey"], name="return_factors", role="sensitive", hierarchy="none",
                      reviewed=False, user=world["admin"])  # fmt: skip
    export = approve(world, submit(world, variables=[*QUASI, "return_factors"], formats=["parquet"]))
    frame = pd.read_parquet(io.BytesIO(files_of(export)["data.parquet"]))
    columns = [c for c in frame.columns if c.startswith("return_factors__")]
    assert columns
    for column in columns:
        checked(frame, QUASI, [column], 3, 2)


def test_a_file_without_quasi_identifiers_must_still_be_one_large_diverse_group(world):
    export = approve(world, submit(world, variables=["return_intention"], formats=["csv"]))
    assert export.status == "complete" and export.row_count >= 3
    from analytics.compute.anonymise import AnonymityError, anonymise

    with pytest.raises(AnonymityError):
        anonymise(pd.DataFrame({"s": ["a"], "n": [2]}), {}, sensitive=["s"], k=3, l_div=2)


def test_dates_survive_the_identifier_scrub():
    from analytics.services.research_files import IDENTIFYING

    assert not IDENTIFYING.search("1990-01-02")
    assert IDENTIFYING.search("+7 701 123 4567") and IDENTIFYING.search("ivan@example.com")


def test_asking_again_while_a_file_is_being_built_builds_once(world):
    request = submit(world, formats=["csv"])
    with TestCase.captureOnCommitCallbacks(execute=False):
        research.research_request_review(request=request, user=world["admin"], decision="approve")
        research.research_renew(request=request, user=world["researcher"])
    assert request.exports.filter(kind="export").count() == 1


def test_a_respondent_keeps_one_pseudonym_in_chunks_with_and_without_anonymous_answers():
    from analytics.services.research_files import _pseudonyms

    key = b"k" * 32
    alone = _pseudonyms(pd.DataFrame({"id": [10], "respondent": [123]}), key)
    mixed = _pseudonyms(pd.DataFrame({"id": [11, 12], "respondent": [123, None]}), key)
    assert alone[0] == mixed[0] != mixed[1]


def test_the_command_refuses_a_k_below_the_licence(world, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="k must be at least 5"):
        call_command("research_export", wave=["grad-2025"], licence="public", k=3, output=str(tmp_path))
