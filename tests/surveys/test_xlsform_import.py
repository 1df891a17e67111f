import pytest
from django.core.management import CommandError, call_command

from surveys import services
from surveys.demo import STANDARD_INSTRUMENTS, standard_instrument_path
from surveys.models import Survey, SurveyVersion
from surveys.xlsform import import_report
from tests.factories import simple_form_rows, xlsform

EN = "label::English (en)"


def problems(report):
    return {(p.sheet, p.row, p.column): p.message for p in report.errors}


def test_it_imports_a_valid_form():
    survey, choices = simple_form_rows()
    report = import_report(xlsform(survey, choices, {"form_id": "mini", "default_language": "English (en)"}))
    assert report.ok, report.lines()
    instrument = report.instrument
    assert instrument.languages == ["en", "ru"]
    assert list(instrument.fields) == ["age", "abroad", "city"]
    assert [p.group for p in instrument.pages] == ["about"]


def test_it_reports_every_error_with_sheet_row_and_column():
    # pyxform converts this form; the platform's own rules then name every problem at once
    survey = [
        {"type": "integer", "name": "age", EN: "Age"},
        {"type": "integr", "name": "typo", EN: "Typo"},
        {"type": "text", "name": "bad_expr", EN: "x", "relevant": "${age} >>= 3"},
        {"type": "text", "name": "no_label"},
        {"type": "integer", "name": "filtered", EN: "F", "relevant": "pulldata('f', 'c', 'k', ${age}) > 1"},
    ]
    report = import_report(xlsform(survey, [{"list_name": "other", "name": "a", EN: "A"}]))
    found = problems(report)
    assert "unknown question type 'integr'" in found[("survey", 3, "type")]
    assert "invalid expression" in found[("survey", 4, "relevant")]
    assert "has no label" in found[("survey", 5, "label")]
    assert "pulldata(): not supported, as it reads a CSV file" in found[("survey", 6, "relevant")]
    assert len(report.errors) == 4
    assert all("sheet" in str(p) and "row" in str(p) for p in report.errors)


@pytest.mark.parametrize(
    ("rows", "where", "reason"),
    [
        ([{"type": "select_one missing_list", "name": "pick", EN: "Pick"}], ("survey", 2, None), "missing_list"),
        (
            [{"type": "text", "name": "a", EN: "A"}, {"type": "text", "name": "a", EN: "B"}],
            ("survey", 3, "name"),
            "unique",
        ),
        (
            [{"type": "text", "name": "q", EN: "Q", "constraint": ". != ${nobody}"}],
            ("survey", 2, "constraint"),
            "'nobody'",
        ),
    ],
)
def test_a_form_pyxform_refuses_is_refused_with_its_reason_and_place(rows, where, reason):
    report = import_report(xlsform(rows, [{"list_name": "other", "name": "a", EN: "A"}]))
    assert not report.ok and len(report.errors) == 1
    assert reason in problems(report)[where]


def test_it_checks_the_choices_sheet():
    survey = [{"type": "select_one l", "name": "q", EN: "Q"}]
    choices = [
        {"list_name": "l", "name": "a", EN: "A"},
        {"list_name": "l", "name": "a", EN: "A again"},
        {"list_name": "l", "name": "b"},
    ]
    found = problems(import_report(xlsform(survey, choices)))
    assert "Choice names must be unique" in found[("choices", 3, "name")]  # pyxform's reason
    found = problems(import_report(xlsform(survey, [choices[0], choices[2]])))
    assert "has no label" in found[("choices", 3, "label")]
    allowed = import_report(
        xlsform(survey, choices[:2] + [{**choices[2], EN: "B"}], {"allow_choice_duplicates": "yes"})
    )
    assert allowed.ok, allowed.lines()
    assert [c.name for c in allowed.instrument.choice_lists["l"]] == ["a", "a", "b"]


def test_it_refuses_unnamed_and_named_language_columns_together():
    survey = [{"type": "text", "name": "q", "label": "Q", EN: "Q"}]
    found = problems(import_report(xlsform(survey)))
    assert "name the language of every column" in found[("survey", 1, "label")]


def test_it_refuses_a_matrix_group_whose_rows_use_different_lists():
    survey = [
        {"type": "begin_group", "name": "grid", EN: "Grid", "appearance": "table-list"},
        {"type": "select_one a", "name": "r1", EN: "R1"},
        {"type": "select_one b", "name": "r2", EN: "R2"},
        {"type": "end_group"},
    ]
    choices = [{"list_name": "a", "name": "1", EN: "1"}, {"list_name": "b", "name": "1", EN: "1"}]
    found = problems(import_report(xlsform(survey, choices)))
    assert "list names don't match" in found[("survey", 4, None)]  # pyxform's reason, at the row it names


def test_it_refuses_unclosed_and_unopened_groups():
    survey = [
        {"type": "end_group"},
        {"type": "begin_group", "name": "g", EN: "G"},
        {"type": "text", "name": "q", EN: "Q"},
    ]
    found = problems(import_report(xlsform(survey)))
    assert "Unmatched 'end_group'" in found[("survey", 2, None)]
    found = problems(import_report(xlsform(survey[1:])))
    assert "No matching 'end_group'" in found[("survey", 2, None)]


def test_unsupported_features_are_reported_with_the_rule_applied():
    survey = [
        {"type": "start", "name": "started"},
        {"type": "geopoint", "name": "where", EN: "Where"},
        {"type": "begin_repeat", "name": "children", EN: "Children"},
        {"type": "integer", "name": "child_age", EN: "Age"},
        {"type": "end_repeat"},
        {"type": "text", "name": "q", EN: "Q", "guidance_hint": "for interviewers"},
    ]
    report = import_report(xlsform(survey))
    assert report.ok, report.lines()
    notes = " | ".join(str(n) for n in report.notes)
    assert "row 2, column 'type'" in notes and "records when a response starts" in notes
    assert "'where' of type geopoint left out" in notes
    assert "children" not in notes  # repeats are real now
    assert "column 'guidance_hint'" in notes
    assert "where" not in report.instrument.fields
    assert report.instrument.fields["child_age"].repeat == "children"


def test_external_choice_files_are_refused_except_the_country_list():
    survey = [
        {"type": "select_one_from_file cities.csv", "name": "city", EN: "City"},
        {"type": "select_one_from_file countries.csv", "name": "country", EN: "Country"},
    ]
    report = import_report(xlsform(survey))
    found = problems(report)
    assert "external files are not supported" in found[("survey", 2, "type")]
    assert len(report.errors) == 1


def test_country_questions_offer_iso_3166_in_three_languages():
    survey = [{"type": "country", "name": "residence", EN: "Country"}]
    report = import_report(xlsform(survey))
    choices = {c.name: c.labels for c in report.instrument.choices_for(report.instrument.fields["residence"])}
    assert len(choices) >= 249
    assert choices["DEU"] == {"kk": "Германия", "ru": "Германия", "en": "Germany"}
    assert choices["KAZ"]["en"] == "Kazakhstan"


def test_or_other_adds_an_other_choice_and_a_specify_field():
    survey = [{"type": "select_multiple l or_other", "name": "why", EN: "Why"}]
    report = import_report(xlsform(survey, [{"list_name": "l", "name": "pay", EN: "Pay"}]))
    instrument = report.instrument
    assert [c.name for c in instrument.choices_for(instrument.fields["why"])] == ["pay", "other"]
    assert instrument.fields["why_other"].relevant.source == "selected(${why}, 'other')"


def test_a_file_that_is_not_a_workbook_is_refused_clearly():
    report = import_report(b"\x00\x01 definitely not a spreadsheet", "form.xlsx")
    assert not report.ok
    assert report.errors[0].sheet == "workbook"
    assert "could not be read" in report.errors[0].message


@pytest.mark.django_db
def test_an_invalid_form_writes_nothing():
    result = services.survey_import_xlsform(
        data=xlsform([{"type": "integr", "name": "x", EN: "X"}]), filename="bad.xlsx", survey_slug="bad", publish=True
    )
    assert result.version is None
    assert not Survey.objects.exists()
    assert not SurveyVersion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", STANDARD_INSTRUMENTS)
def test_standard_instruments_import_in_kazakh_russian_and_english(name):
    path = standard_instrument_path(name)
    report = import_report(path.read_bytes(), path.name)
    assert report.ok, report.lines()
    instrument = report.instrument
    assert instrument.languages == ["kk", "ru", "en"]
    assert instrument.default_language == "kk"
    for item in instrument.fields.values():
        if item.type != "calculate":
            assert set(item.labels) == {"kk", "ru", "en"}, item.name
        for texts in (item.hints, item.required_message, item.constraint_message):
            assert not texts or set(texts) == {"kk", "ru", "en"}, item.name
    for choices in instrument.choice_lists.values():
        for choice in choices:
            assert set(choice.labels) >= {"kk", "ru", "en"}, choice.name
    assert instrument.groups["barriers"].is_matrix


@pytest.mark.django_db
def test_the_command_imports_and_publishes(tmp_path, capsys):
    path = tmp_path / "mini.xlsx"
    survey, choices = simple_form_rows()
    path.write_bytes(xlsform(survey, choices, {"form_id": "mini"}))
    call_command("import_xlsform", str(path), "--survey", "mini-survey", "--publish")
    version = SurveyVersion.objects.get(survey__slug="mini-survey")
    assert version.is_published
    assert "Imported mini-survey v1 (published)" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_command_names_each_problem_and_fails(tmp_path, capsys):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsform([{"type": "select_one nope", "name": "q", EN: "Q"}]))
    with pytest.raises(CommandError, match="not imported"):
        call_command("import_xlsform", str(path))
    assert "survey sheet: There should be a choices sheet" in capsys.readouterr().err
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ({"type": "integer", "read_only": "${t} = 'x'"}, "read_only", "read_only as a condition"),
        ({"type": "range", "parameters": "start=1 end=5 step=nan"}, "parameters", "range parameter step"),
        ({"type": "range", "parameters": "start=-inf end=5"}, "parameters", "the parameter 'start' must be a number"),
        ({"type": "range", "parameters": "step=1e-320"}, "parameters", "range step must be at least"),
    ],
)
def test_column_values_that_cannot_work_are_refused(row, column, message):
    report = import_report(xlsform([{"name": "q", EN: "Q", **row}, {"type": "text", "name": "t", EN: "T"}]))
    assert message in problems(report)[("survey", 2, column)]


def test_settings_longer_than_the_platform_stores_are_refused():
    report = import_report(xlsform([{"type": "text", "name": "q", EN: "Q"}], settings={"form_title": "x" * 201}))
    assert "form_title is too long" in problems(report)[("settings", 2, "form_title")]


def test_a_spreadsheet_date_cell_is_a_valid_date_default():
    report = import_report(xlsform([{"type": "date", "name": "d", EN: "D", "default": "2020-01-02 00:00:00"}]))
    assert report.ok, report.lines()
