"""Exports of a wave's responses: CSV, XLSX and SPSS across two versions, jobs, reuse and scope."""

import copy
import csv
import io
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pyreadstat
import pytest
from django.conf import settings as django_settings
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.models import Programme, Role
from config import celery_app
from surveys.models import ExportJob, SurveyVersion, Wave
from surveys.samples import SAMPLE_GRADUATE_ANSWERS
from surveys.services import response_submit
from surveys.services.exports import escape_formula, export_request, export_run, spss_names
from tests.factories import UserFactory

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db]
EN = "label::English (en)"
RU = "label::Русский (ru)"
KK = "label::Қазақша (kk)"
ROOT = Path(__file__).resolve().parents[2]


def publish_second_version(v1: SurveyVersion) -> SurveyVersion:
    """v1 plus a new question (employer) and a new choice of return_factors (remote_work)."""
    content = copy.deepcopy(v1.content)
    position = next(i for i, row in enumerate(content["survey"]) if row.get("name") == "years_abroad")
    content["survey"].insert(
        position,
        {"_row": 90, "type": "text", "name": "employer", EN: "Employer", RU: "Работодатель", KK: "Жұмыс беруші"},
    )
    content["choices"].append(
        {"_row": 300, "list_name": "return_factors", "name": "remote_work", EN: "Remote work", RU: "Удалённая работа"}
    )
    return SurveyVersion.objects.create(
        survey=v1.survey,
        number=2,
        title=v1.title,
        content=content,
        languages=v1.languages,
        default_language=v1.default_language,
        status=SurveyVersion.Status.PUBLISHED,
    )


@pytest.fixture
def programme():
    return Programme.objects.create(slug="bolashak", name="Bolashak")


@pytest.fixture
def wave(graduate_version, programme):
    survey = graduate_version.survey
    survey.programme = programme
    survey.save()
    return Wave.objects.create(
        survey=survey, version=graduate_version, slug="graduates-2026", name="Graduates 2026", is_public=True
    )


def submit(version, wave, answers, status="complete", language="en"):
    user = UserFactory()
    response, _ = response_submit(
        version=version,
        respondent=user,
        instance_id=uuid.uuid4(),
        status=status,
        answers=answers,
        language=language,
        wave=wave,
    )
    return response


@pytest.fixture
def responses(wave, graduate_version):
    v2 = publish_second_version(graduate_version)
    first = submit(graduate_version, wave, SAMPLE_GRADUATE_ANSWERS)
    partial = submit(graduate_version, wave, {"country_residence": "USA", "city_residence": "=1+2"}, "partial", "ru")
    wave.version = v2  # the wave moves to the new version mid-fielding
    wave.save()
    newer = submit(
        v2, wave, {**SAMPLE_GRADUATE_ANSWERS, "employer": "@Acme", "return_factors": ["remote_work", "higher_salary"]}
    )
    return first, partial, newer


def run(wave, fmt, language="en"):
    job = ExportJob.objects.create(wave=wave, format=fmt, language=language)
    return export_run(job_id=job.pk)


def csv_tables(job):
    """The CSV files of an export: the graduate form has a repeat group, so a .zip of tables."""
    with job.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
            for name in archive.namelist()
        }


def read_csv(job):
    return csv_tables(job)[f"{job.wave.slug}-{job.language}.csv"]


def test_a_csv_export_has_columns_by_field_name_across_versions(responses, wave):
    job = run(wave, "csv")
    assert job.status == "complete" and job.row_count == 3 and job.progress == 100
    rows = read_csv(job)
    header = list(rows[0])
    assert header[:5] == ["instance_id", "version", "status", "submitted_at", "language"]
    assert {"employer", "return_factors", "return_factors__remote_work", "country_residence"} <= set(header)
    by_version = {row["version"]: row for row in rows if row["status"] == "complete"}
    assert by_version["1"]["employer"] == "" and by_version["2"]["employer"] == "'@Acme"
    assert by_version["1"]["return_factors"] == "higher_salary research_funding"
    assert by_version["1"]["return_factors__remote_work"] == "0"
    assert by_version["2"]["return_factors__remote_work"] == "1"
    assert by_version["1"]["departure_year"] == "2019" and by_version["1"]["likelihood_5y"] == "4"


def test_a_repeat_groups_entries_are_a_table_linked_by_response_id_and_entry(responses, wave):
    job = run(wave, "csv")
    tables = csv_tables(job)
    assert sorted(tables) == ["graduates-2026-en-jobs.csv", "graduates-2026-en.csv"]
    main, jobs = tables["graduates-2026-en.csv"], tables["graduates-2026-en-jobs.csv"]
    assert "job_employer" not in main[0] and {row["jobs__count"] for row in main} == {"1", "0"}
    complete = {row["instance_id"] for row in main if row["status"] == "complete"}
    assert len(jobs) == 2 and {row["instance_id"] for row in jobs} == complete
    assert {(row["entry"], row["job_employer"], row["job_country"], row["job_start"]) for row in jobs} == {
        ("1", "Siemens", "DEU", "2021-09-01")
    }
    with run(wave, "xlsx").file.open("rb") as handle:
        book = load_workbook(io.BytesIO(handle.read()), read_only=True)
    assert book.sheetnames == ["responses", "jobs", "variables"]
    entries = list(book["jobs"].iter_rows(values_only=True))
    assert entries[0][:3] == ("instance_id", "entry", "job_employer") and len(entries) == 3


def test_formula_like_text_is_escaped_in_csv(responses, wave):
    rows = read_csv(run(wave, "csv"))
    partial = next(row for row in rows if row["status"] == "partial")
    assert partial["city_residence"] == "'=1+2"
    assert partial["return_factors__higher_salary"] == ""  # not answered is not "not selected"


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx"])
def test_escape_formula_prefixes_an_apostrophe(value):
    assert escape_formula(value) == "'" + value


def test_escape_formula_keeps_numbers_and_plain_text():
    assert escape_formula(-3) == -3 and escape_formula("Berlin") == "Berlin"


def test_an_xlsx_export_has_the_same_columns_and_escaped_text(responses, wave):
    job = run(wave, "xlsx")
    with job.file.open("rb") as handle:
        book = load_workbook(io.BytesIO(handle.read()), read_only=True)
    rows = list(book["responses"].iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 4 and "return_factors__remote_work" in header
    city = header.index("city_residence")
    assert "'=1+2" in [row[city] for row in rows[1:]]
    year = header.index("departure_year")
    assert 2019 in [row[year] for row in rows[1:]]


def test_a_sav_export_carries_variable_and_value_labels_in_the_job_language(responses, wave, tmp_path):
    job = run(wave, "sav", language="ru")
    with job.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        assert sorted(archive.namelist()) == ["graduates-2026-ru-jobs.sav", "graduates-2026-ru.sav"]
        archive.extractall(tmp_path)
    frame, meta = pyreadstat.read_sav(str(tmp_path / "graduates-2026-ru.sav"))
    assert len(frame) == 3
    labels = meta.column_names_to_labels
    assert labels["employer"] == "Работодатель"
    assert labels["return_factors__remote_work"].endswith("Удалённая работа")
    assert meta.variable_value_labels["return_factors__remote_work"] == {0.0: "not selected", 1.0: "selected"}
    assert meta.variable_value_labels["country_residence"]["DEU"]
    assert sorted(frame["departure_year"].dropna()) == [2019.0, 2019.0]
    assert meta.variable_value_labels["likelihood_5y"][5.0]  # a coded scale stays numeric, with labels
    assert sorted(frame["likelihood_5y"].dropna()) == [4.0, 4.0]


def test_spss_names_are_safe_and_unique():
    names = spss_names(["a-b", "a_b", "1st", "BY", "x" * 80, "x" * 80 + "y"])
    assert list(names.values()) == ["a_b", "a_b_2", "v_1st", "BY_", "x" * 64, "x" * 62 + "_2"]


def test_running_a_job_twice_builds_it_once(responses, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    first = export_run(job_id=job.pk)
    name = first.file.name
    second = export_run(job_id=job.pk)
    assert second.status == "complete" and second.file.name == name and second.finished_at == first.finished_at


def test_a_job_claimed_by_another_worker_is_left_alone(responses, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en", status="processing")
    from django.utils import timezone

    ExportJob.objects.filter(pk=job.pk).update(started_at=timezone.now())
    assert export_run(job_id=job.pk).status == "processing"


def test_a_request_for_unchanged_responses_reuses_the_finished_file(
    responses, wave, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job, created = export_request(wave=wave, format="csv", language="en", user=None)
    again, created_again = export_request(wave=wave, format="csv", language="en", user=None)
    assert created and not created_again and again.pk == job.pk


def test_a_new_response_makes_the_next_request_rebuild(responses, wave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = export_request(wave=wave, format="csv", language="en", user=None)
    submit(wave.version, wave, SAMPLE_GRADUATE_ANSWERS)
    with django_capture_on_commit_callbacks(execute=True):
        newer, created = export_request(wave=wave, format="csv", language="en", user=None)
    newer.refresh_from_db()
    assert created and newer.pk != job.pk and newer.row_count == 4


def test_the_export_task_runs_the_job(responses, wave):
    from surveys.tasks_exports import export_build

    job = ExportJob.objects.create(wave=wave, format="csv", language="kk")
    export_build(job.pk)
    job.refresh_from_db()
    assert job.status == "complete" and job.progress == 100


# --------------------------------------------------------------------------- API and scope


@pytest.fixture
def owner(programme):
    user = UserFactory(username="owner", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(programme)
    return user


@pytest.fixture
def outsider():
    user = UserFactory(username="outsider", role=Role.PROGRAMME_ADMIN, is_staff=True)
    user.programmes.add(Programme.objects.create(slug="serpin", name="Serpin"))
    return user


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_administrator_requests_an_export_and_downloads_it(
    owner, responses, wave, django_capture_on_commit_callbacks
):
    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(f"/api/v1/waves/{wave.slug}/exports/", {"format": "csv", "language": "en"})
    assert created.status_code == 202
    status = client.get(f"/api/v1/exports/{created.json()['id']}/").json()
    assert status["status"] == "complete" and status["progress"] == 100
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert 'filename="graduates-2026-en.zip"' in download["Content-Disposition"]  # the form has a repeat group
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        assert b"instance_id" in archive.read("graduates-2026-en.csv")


def test_a_download_before_completion_is_a_conflict(owner, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    assert client_for(owner).get(f"/api/v1/exports/{job.pk}/download/").status_code == 409


def test_an_administrator_of_another_programme_sees_no_export(outsider, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    client = client_for(outsider)
    assert client.post(f"/api/v1/waves/{wave.slug}/exports/", {"format": "csv"}).status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/download/").status_code == 404


def test_a_respondent_cannot_request_or_see_exports(respondent, wave):
    job = ExportJob.objects.create(wave=wave, format="csv", language="en")
    client = client_for(respondent)
    assert client.post(f"/api/v1/waves/{wave.slug}/exports/", {"format": "csv"}).status_code in (403, 404)
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code in (403, 404)


def test_an_unknown_format_is_refused(owner, wave):
    response = client_for(owner).post(f"/api/v1/waves/{wave.slug}/exports/", {"format": "pdf"})
    assert response.status_code == 400 and "format" in response.json()


# --------------------------------------------------------------------------- a real worker


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_an_export_enqueued_on_commit(graduate_version, programme, tmp_path):
    celery_app.conf.task_always_eager = False  # put back by the autouse fixture
    wave = Wave.objects.create(
        survey=graduate_version.survey, version=graduate_version, slug="worker-wave", name="Worker", is_public=True
    )
    submit(graduate_version, wave, SAMPLE_GRADUATE_ANSWERS)
    queue = f"kelu-export-test-{os.getpid()}"
    database = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "REDIS_URL": django_settings.REDIS_URL,
        "DATABASE_URL": f"{django_settings.DATABASE_URL.rsplit('/', 1)[0]}/{database['NAME']}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", queue, "--pool", "solo"]
    command += ["--include", "surveys.tasks_exports", "--hostname", f"{queue}@localhost", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle"]
    log_path = tmp_path / "worker.log"
    from surveys.tasks_exports import export_build

    with open(log_path, "w") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        job = ExportJob.objects.create(wave=wave, format="xlsx", language="kk")
        export_build.apply_async(args=[job.pk], queue=queue)
        deadline = time.monotonic() + 60
        while ExportJob.objects.get(pk=job.pk).status != "complete":
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    job.refresh_from_db()
    assert job.row_count == 1 and job.progress == 100
