"""Repeat groups: a list of jobs or stays abroad, answered once per entry."""

from __future__ import annotations

import datetime as dt

import pytest

from surveys.answers import validate_answers
from surveys.xlsform import import_report
from tests.factories import xlsform

TODAY = dt.date(2026, 12, 1)

SURVEY = [
    {"type": "integer", "name": "moves", "label": "How many jobs?"},
    {"type": "begin_repeat", "name": "jobs", "label": "Job"},
    {"type": "text", "name": "employer", "label": "Employer", "required": "yes"},
    {"type": "integer", "name": "start", "label": "From (year)", "constraint": ". >= 1990"},
    {"type": "integer", "name": "end", "label": "Until (year)", "constraint": ". >= ${start}",
     "constraint_message": "Until comes after from"},
    {"type": "select_one yn", "name": "related", "label": "Related to your studies?"},
    {"type": "text", "name": "why", "label": "Why not?", "relevant": "${related} = 'no'"},
    {"type": "calculate", "name": "number", "calculation": "position(..)"},
    {"type": "text", "name": "first_only", "label": "Only for the first", "relevant": "position(..) = 1"},
    {"type": "end_repeat"},
    {"type": "calculate", "name": "years_total", "calculation": "sum(${end}) - sum(${start})"},
    {"type": "calculate", "name": "job_count", "calculation": "count(${jobs})"},
    {"type": "text", "name": "second_employer", "label": "Second",
     "calculation": "indexed-repeat(${employer}, ${jobs}, 2)"},
]  # fmt: skip
CHOICES = [{"list_name": "yn", "name": "yes", "label": "Yes"}, {"list_name": "yn", "name": "no", "label": "No"}]


@pytest.fixture(scope="module")
def instrument():
    report = import_report(xlsform(SURVEY, CHOICES))
    assert report.ok, report.lines()
    return report.instrument


def check(instrument, answers, complete=True):
    return validate_answers(instrument, answers, complete=complete, language=None, today=TODAY)


def test_a_repeat_is_a_group_whose_questions_belong_to_it(instrument):
    assert instrument.groups["jobs"].is_repeat and list(instrument.repeats) == ["jobs"]
    assert {f.name for f in instrument.repeat_fields("jobs")} >= {"employer", "start", "end", "related", "why"}
    assert all(f.repeat is None for f in instrument.top_fields())


def test_entries_are_kept_as_a_list_of_objects_with_their_own_relevance_and_calculations(instrument):
    outcome = check(instrument, {
        "moves": 2,
        "jobs": [
            {"employer": "KazMunayGas", "start": 2015, "end": 2018, "related": "yes", "first_only": "x"},
            {"employer": "Siemens", "start": 2018, "end": 2024, "related": "no", "why": "Pay", "first_only": "y"},
        ],
    })  # fmt: skip
    assert outcome.errors == {}
    assert outcome.answers["jobs"] == [
        {"employer": "KazMunayGas", "start": 2015, "end": 2018, "related": "yes", "number": 1, "first_only": "x"},
        {"employer": "Siemens", "start": 2018, "end": 2024, "related": "no", "why": "Pay", "number": 2},
    ]
    assert outcome.answers["years_total"] == 9 and outcome.answers["job_count"] == 2
    assert outcome.answers["second_employer"] == "Siemens"


def test_errors_name_the_entry_and_the_question(instrument):
    outcome = check(instrument, {"jobs": [
        {"employer": "A", "start": 2015, "end": 2016},
        {"start": 2019, "end": 2017, "why": "hidden", "nope": 1},
    ]})  # fmt: skip
    assert outcome.errors == {
        "jobs[2].employer": "This question requires an answer.",
        "jobs[2].end": "Until comes after from",
        "jobs[2].nope": "This is not a question of this survey version.",
    }


def test_a_repeat_that_is_not_a_list_of_objects_is_refused(instrument):
    assert "jobs" in check(instrument, {"jobs": "KazMunayGas"}).errors
    assert "jobs" in check(instrument, {"jobs": [{"employer": "x"}] * 51}).errors
    assert check(instrument, {"employer": "outside"}).errors == {
        "employer": "This is not a question of this survey version."
    }


def test_repeat_count_fixes_the_number_of_entries():
    survey = [
        {"type": "integer", "name": "children", "label": "Children"},
        {"type": "begin_repeat", "name": "child", "label": "Child", "repeat_count": "${children}"},
        {"type": "integer", "name": "age", "label": "Age", "required": "yes"},
        {"type": "end_repeat"},
    ]
    report = import_report(xlsform(survey))
    assert report.ok, report.lines()
    outcome = check(report.instrument, {"children": 2, "child": [{"age": 3}, {"age": 5}, {"age": 7}]})
    assert outcome.answers["child"] == [{"age": 3}, {"age": 5}]
    outcome = check(report.instrument, {"children": 2, "child": [{"age": 3}]})
    assert outcome.errors == {"child[2].age": "This question requires an answer."}


def test_a_repeat_inside_a_repeat_is_refused_by_name():
    survey = [
        {"type": "begin_repeat", "name": "outer", "label": "Outer"},
        {"type": "begin_repeat", "name": "inner", "label": "Inner"},
        {"type": "text", "name": "t", "label": "T"},
        {"type": "end_repeat"},
        {"type": "end_repeat"},
    ]
    report = import_report(xlsform(survey))
    assert any("repeats within repeats are not supported" in p.message for p in report.errors)


# --------------------------------------------------------------------------- pages


@pytest.mark.django_db
def test_a_respondent_adds_fills_and_removes_entries_on_the_pages():
    import re

    from django.test import Client
    from django.utils import timezone

    from surveys import services
    from surveys.models import Response, Wave

    version = services.survey_import_xlsform(
        data=xlsform(SURVEY, CHOICES, {"form_id": "jobs"}), filename="jobs.xlsx", survey_slug="jobs", publish=True
    ).version
    Wave.objects.create(survey=version.survey, version=version, slug="jobs-2026", name="Jobs", is_public=True,
                        opens_at=timezone.now() - dt.timedelta(days=1))  # fmt: skip
    client = Client()
    start = client.post("/s/jobs-2026/", {"action": "start"})
    page_url = start["Location"].split("?")[0]
    client.post(page_url, {"page": "0", "action": "next", "moves": "2"})  # the repeat is the second page
    page = client.get(page_url, {"page": "1"}).content.decode()
    assert 'name="jobs__count" value="0"' in page and 'value="add:jobs"' in page

    def post(action, **fields):
        data = {"page": "1", "action": action, **fields}
        return client.post(page_url, data)

    post("add:jobs", jobs__count="0")
    post("add:jobs", jobs__count="1", **{"jobs[1].employer": "KazMunayGas", "jobs[1].start": "2015"})
    page = client.get(page_url, {"page": "1"}).content.decode()
    assert 'name="jobs[1].employer" value="KazMunayGas"' in page and 'name="jobs[2].employer"' in page
    assert 'value="remove:jobs:2"' in page
    # the second entry says "no": its follow-up shows for it alone; a bad year is named by entry
    reply = post("next", jobs__count="2", **{
        "jobs[1].employer": "KazMunayGas", "jobs[1].start": "2015", "jobs[1].end": "2018", "jobs[1].related": "yes",
        "jobs[2].employer": "Siemens", "jobs[2].start": "2018", "jobs[2].end": "2017", "jobs[2].related": "no",
    })  # fmt: skip
    assert reply.status_code == 400
    body = reply.content.decode()
    assert re.search(r'id="q-jobs\[2\]\.end"[^>]*>', body) and "Until (year)" in body
    assert 'id="q-jobs[1].why"' in body and re.search(r'id="q-jobs\[1\]\.why"[^>]*hidden', body)
    post("remove:jobs:1", jobs__count="2", **{"jobs[1].employer": "KazMunayGas", "jobs[2].employer": "Siemens",
                                               "jobs[2].start": "2018", "jobs[2].end": "2024"})  # fmt: skip
    answers = Response.objects.get().answers
    assert answers["jobs"] == [{"employer": "Siemens", "start": 2018, "end": 2024, "number": 1}]


# --------------------------------------------------------------------------- summaries and exports


def test_summaries_count_each_entry_and_the_response_page_lists_entries(instrument):
    from surveys.summaries import merged_fields, response_sections, summarise_answers

    fields = merged_fields([instrument], "default")
    documents = [
        {"jobs": [{"employer": "A", "related": "yes"}, {"employer": "B", "related": "no"}]},
        {"jobs": [{"employer": "C", "related": "no"}]},
    ]
    summary = {s.name: s for s in summarise_answers(fields, documents)}
    assert summary["employer"].answered == 3
    assert {row["name"]: row["count"] for row in summary["related"].choices} == {"yes": 1, "no": 2}
    sections = response_sections(instrument, documents[0], "default")
    assert [s.label for s in sections if s.label.startswith("Job")] == ["Job 1", "Job 2"]
    assert not any(s.unknown for s in sections)


def test_an_export_has_a_table_per_repeat_linked_by_response_and_entry(instrument):
    from surveys.services.exports import export_columns, export_row, repeat_tables
    from surveys.summaries import merged_fields

    fields = merged_fields([instrument], "default")
    columns = export_columns(fields)
    assert "employer" not in [c.name for c in columns] and "jobs__count" in [c.name for c in columns]
    row = export_row({"instance_id": "r1"}, {"moves": 2, "jobs": [{"employer": "A"}, {"employer": "B"}]}, columns)
    assert row[[c.name for c in columns].index("jobs__count")] == 2
    (table,) = repeat_tables(fields)
    assert table.name == "jobs" and [c.name for c in table.columns][:3] == ["instance_id", "entry", "employer"]
    assert export_row({"instance_id": "r1", "entry": 2}, {"employer": "B", "start": 2018}, table.columns)[:4] == [
        "r1", "2", "B", 2018,
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_analysis_frame_keeps_one_row_per_response_without_the_entries(graduate_version):
    from analytics.services.frames import frame_spec
    from surveys.models import Wave

    wave = Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="w", name="W")
    names = {column.name for column in frame_spec(wave).columns}
    assert "country_residence" in names and not any(name.startswith("job_") for name in names)


# --------------------------------------------------------------------------- found in review


def test_pages_after_a_repeat_follow_its_entries_and_errors_always_land_on_a_page():
    from surveys.pages import applicable_pages, first_page_with_errors

    survey = [
        {"type": "begin_repeat", "name": "jobs", "label": "Job"},
        {"type": "integer", "name": "salary", "label": "Salary"},
        {"type": "end_repeat"},
        {"type": "begin_group", "name": "more", "label": "More", "relevant": "count(${jobs}) > 1"},
        {"type": "text", "name": "why", "label": "Why several?", "required": "yes"},
        {"type": "end_group"},
    ]
    report = import_report(xlsform(survey))
    assert report.ok, report.lines()
    answers = {"jobs": [{"salary": 500}, {"salary": 600}]}
    pages = applicable_pages(report.instrument, answers, TODAY)
    assert pages == [0, 1]
    outcome = check(report.instrument, answers)
    assert first_page_with_errors(report.instrument, pages, outcome.errors) == 1


def test_a_question_after_a_repeat_in_the_same_group_keeps_the_entries():
    from django.http import QueryDict

    from surveys.pages import build_sections, page_answers

    survey = [
        {"type": "begin_group", "name": "work", "label": "Work"},
        {"type": "begin_repeat", "name": "jobs", "label": "Job"},
        {"type": "text", "name": "employer", "label": "Employer"},
        {"type": "end_repeat"},
        {"type": "text", "name": "after", "label": "After"},
        {"type": "end_group"},
    ]
    report = import_report(xlsform(survey))
    sections = build_sections(report.instrument, 0, {"jobs": [{"employer": "A"}]}, {}, "default", TODAY)
    assert [(s.name, s.is_add, [q.name for q in s.questions]) for s in sections] == [
        ("jobs[1]", False, ["jobs[1].employer"]), ("jobs__add", True, []), ("", False, ["after"]),
    ]  # fmt: skip
    posted = page_answers(report.instrument, 0, QueryDict("jobs__count=1&jobs[1].employer=Siemens&after=x"))
    assert posted == {"jobs": [{"employer": "Siemens"}], "after": "x"}
    assert "jobs" not in page_answers(report.instrument, 0, QueryDict("after=x"))  # no count: entries kept
    assert page_answers(report.instrument, 0, QueryDict("jobs__count=" + "9" * 5000))["jobs"] == []


def test_form_filled_questions_are_never_required_of_the_respondent_and_stale_entries_say_nothing():
    survey = [
        {"type": "select_one yn", "name": "has", "label": "Any jobs?"},
        {"type": "integer", "name": "n", "label": "N", "read_only": "yes", "required": "yes"},
        {"type": "begin_repeat", "name": "jobs", "label": "Job", "relevant": "${has} = 'yes'"},
        {"type": "integer", "name": "salary", "label": "Salary"},
        {"type": "end_repeat"},
    ]
    report = import_report(xlsform(survey, CHOICES))
    outcome = check(report.instrument, {"has": "no", "jobs": [{"salary": "abc"}]})
    assert outcome.errors == {}


def test_a_repeated_question_read_alone_outside_its_repeat_is_refused_by_name():
    survey = [
        {"type": "begin_repeat", "name": "jobs", "label": "Job"},
        {"type": "integer", "name": "salary", "label": "Salary"},
        {"type": "end_repeat"},
        {"type": "text", "name": "rich", "label": "Rich?", "relevant": "${salary} > 10"},
        {"type": "text", "name": "fine", "label": "Fine", "relevant": "sum(${salary}) > 10 and count(${jobs}) > 0"},
    ]
    report = import_report(xlsform(survey))
    (problem,) = report.errors
    assert (problem.row, problem.column) == (5, "relevant")
    assert (
        "${salary} is asked once per entry of repeat 'jobs'" in problem.message and "not supported" in problem.message
    )


def test_a_question_cannot_move_into_or_out_of_a_repeat_between_versions():
    from surveys.versioning import incompatibilities

    def compiled(survey):
        report = import_report(xlsform(survey))
        assert report.ok, report.lines()
        return report.instrument

    flat = compiled([{"type": "text", "name": "employer", "label": "Employer"}])
    repeated = compiled([
        {"type": "begin_repeat", "name": "jobs", "label": "Job"},
        {"type": "text", "name": "employer", "label": "Employer"},
        {"type": "end_repeat"},
    ])  # fmt: skip
    assert any("moves from outside any repeat to repeat 'jobs'" in r for r in incompatibilities(flat, repeated))
    assert any("moves from repeat 'jobs' to outside any repeat" in r for r in incompatibilities(repeated, flat))
    assert incompatibilities(repeated, repeated) == []


@pytest.mark.django_db
def test_the_repeats_hint_shows_by_its_add_button(graduate_version):
    from surveys.pages import build_sections

    instrument = graduate_version.instrument
    page = next(i for i, p in enumerate(instrument.pages) if p.group == "jobs")
    add = next(s for s in build_sections(instrument, page, {}, {}, "en", TODAY) if s.is_add)
    assert "starting with the most recent" in str(add.hint)
