"""Forms as their authors write them in KoboToolbox and ODK: read the way pyxform reads them.

Each form is written here as an .xlsx and an .xls workbook (pyxform reads both); the
differential test checks that what the platform stores is what pyxform's output holds.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from surveys.answers import validate_answers
from surveys.xlsform import import_report
from surveys.xlsform_pyxform import canonical_type
from tests.factories import xlsform


def xls(survey: list[dict[str, Any]], choices=None, settings_row=None) -> bytes:
    """The same rows as an Excel 97-2003 (.xls) workbook."""
    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in (
        ("survey", survey),
        ("choices", choices),
        ("settings", [settings_row] if settings_row else None),
    ):
        if rows is None:
            continue
        sheet = book.add_sheet(name)
        headers = list(dict.fromkeys(key for row in rows for key in row))
        for column, header in enumerate(headers):
            sheet.write(0, column, header)
        for number, row in enumerate(rows, start=1):
            for column, header in enumerate(headers):
                if row.get(header) is not None:
                    sheet.write(number, column, row[header])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FORMATS = {"xlsx": (xlsform, "form.xlsx"), "xls": (xls, "form.xls")}


def imported(fmt: str, survey, choices=None, settings_row=None):
    write, filename = FORMATS[fmt]
    report = import_report(write(survey, choices, settings_row), filename)
    assert report.ok, report.lines()
    return report.instrument


YES_NO = [
    {"list name": "yn", "name": "yes", "label:English": "Yes", "label:French": "Oui"},
    {"list name": "yn", "name": "no", "label:English": "No", "label:French": "Non"},
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_kobo_style_form_with_spaced_and_uppercase_headers_and_one_colon_languages(fmt):
    survey = [
        {"TYPE": "select one from yn", "NAME": "abroad", "label:English": "Abroad?", "label:French": "À l'étranger ?"},
        {"TYPE": "select all that apply from yn", "NAME": "both", "label:English": "Both", "label:French": "Les deux"},
        {"TYPE": "string", "NAME": "city", "label:English": "City", "label:French": "Ville",
         "bind:relevant": "${abroad} = “yes”"},
        {"TYPE": "int", "NAME": "years", "label:English": "Years", "label:French": "Années",
         "bind:constraint": ". >= 0 and . < 80", "bind:jr:constraintMsg:English": "0 to 79",
         "bind:jr:constraintMsg:French": "De 0 à 79", "bind:required": "yes"},
        {"TYPE": "phone number", "NAME": "phone", "label:English": "Phone", "label:French": "Téléphone"},
        {"TYPE": "select one yn or specify other", "NAME": "why", "label:English": "Why", "label:French": "Pourquoi"},
    ]  # fmt: skip
    instrument = imported(fmt, survey, YES_NO)
    fields = instrument.fields
    assert [(n, f.type) for n, f in fields.items()] == [
        ("abroad", "select_one"), ("both", "select_multiple"), ("city", "text"), ("years", "integer"),
        ("phone", "text"), ("why", "select_one"), ("why_other", "text"),
    ]  # fmt: skip
    assert instrument.languages == ["english", "french"]
    assert instrument.language_names == {"english": "English", "french": "French"}
    assert fields["abroad"].labels == {"english": "Abroad?", "french": "À l'étranger ?"}
    # the logic pyxform read is kept, never dropped: relevance with its curly quotes straightened,
    # the constraint and its message in each language, the requirement
    assert fields["city"].relevant.source == '${abroad} = "yes"'
    assert fields["years"].constraint is not None and fields["years"].required
    assert fields["years"].constraint_message == {"english": "0 to 79", "french": "De 0 à 79"}
    assert fields["why"].or_other and "other" in [c.name for c in instrument.choices_for(fields["why"])]
    outcome = validate_answers(instrument, {"abroad": "no", "city": "Paris", "years": 99}, complete=False,
                               language="french", today=None)  # fmt: skip
    assert "city" not in outcome.answers and outcome.errors["years"] == "De 0 à 79"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_read_only_computed_total_and_a_read_only_question(fmt):
    survey = [
        {"type": "integer", "name": "a", "label": "A"},
        {"type": "integer", "name": "b", "label": "B"},
        {"type": "integer", "name": "total", "label": "Total", "calculation": "${a} + ${b}"},
        {"type": "text", "name": "code", "label": "Code", "read_only": "yes", "default": "KZ-1"},
    ]
    instrument = imported(fmt, survey)
    assert instrument.fields["total"].set_by_form and instrument.fields["code"].set_by_form
    outcome = validate_answers(instrument, {"a": 2, "b": 3, "total": 100, "code": "forged"}, complete=True,
                               language=None, today=None)  # fmt: skip
    assert outcome.answers == {"a": 2, "b": 3, "total": 5, "code": "KZ-1"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_type_aliases_resolve_by_pyxforms_own_dictionary(fmt):
    survey = [
        {"type": "q string", "name": "s", "label": "S"},
        {"type": "decimal", "name": "d", "label": "D"},
        {"type": "date time", "name": "when", "label": "When"},
        {"type": "gps", "name": "where", "label": "Where"},
        {"type": "photo", "name": "face", "label": "Face"},
        {"type": "imei", "name": "device"},
    ]
    report = import_report(FORMATS[fmt][0](survey), FORMATS[fmt][1])
    assert report.ok, report.lines()
    assert [(n, f.type) for n, f in report.instrument.fields.items()] == [
        ("s", "text"), ("d", "decimal"), ("when", "datetime")
    ]  # fmt: skip
    left_out = " ".join(str(note) for note in report.notes)
    assert "'where' of type geopoint" in left_out and "'face' of type image" in left_out
    assert "'device' of type deviceid" in left_out


def test_canonical_types_of_every_alias_pyxform_knows():
    assert canonical_type("string") == canonical_type("add text prompt") == "text"
    assert canonical_type("int") == canonical_type("q int") == "integer"
    assert canonical_type("location") == canonical_type("gps") == "geopoint"
    assert canonical_type("percentage") == "integer"
    assert canonical_type("dateTime") == canonical_type("datetime") == "datetime"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_choices_sheet_keeps_extra_columns_for_choice_filters(fmt):
    survey = [
        {"type": "select_one region", "name": "region", "label": "Region"},
        {"type": "select_one city", "name": "city", "label": "City", "choice_filter": "region = ${region}"},
    ]
    choices = [
        {"list_name": "region", "name": "north", "label": "North"},
        {"list_name": "region", "name": "south", "label": "South"},
        {"list_name": "city", "name": "a", "label": "A", "region": "north"},
        {"list_name": "city", "name": "b", "label": "B", "region": "south"},
    ]
    instrument = imported(fmt, survey, choices)
    outcome = validate_answers(instrument, {"region": "north", "city": "b"}, complete=False, language=None, today=None)
    assert "city" in outcome.errors


@pytest.mark.parametrize("fmt", FORMATS)
def test_table_list_groups_read_back_as_one_grid(fmt):
    survey = [
        {"type": "begin_group", "name": "grid", "label": "How much?", "appearance": "table-list"},
        {"type": "select_one scale", "name": "r1", "label": "Salary"},
        {"type": "select_one scale", "name": "r2", "label": "Career"},
        {"type": "end_group"},
    ]
    choices = [{"list_name": "scale", "name": str(i), "label": str(i)} for i in (1, 2, 3)]
    instrument = imported(fmt, survey, choices)
    assert instrument.groups["grid"].is_matrix and list(instrument.fields) == ["r1", "r2"]
    assert all(f.appearance == "" for f in instrument.fields.values())


def test_a_form_without_language_columns_offers_the_interface_languages():
    from surveys.views.respondent import form_languages

    instrument = imported("xlsx", [{"type": "text", "name": "q", "label": "Question"}])
    assert [code for code, _ in form_languages(instrument)] == ["kk", "ru", "en"]
    assert instrument.text(instrument.fields["q"].labels, "ru") == "Question"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_form_in_french_offers_french_and_the_interface_falls_back_to_english(fmt):
    from surveys.views.respondent import form_languages, interface_language

    survey = [{"type": "text", "name": "q", "label::Français (fr)": "Question ?", "label::English (en)": "Q?"}]
    instrument = imported(fmt, survey)
    assert form_languages(instrument) == [("en", "English"), ("fr", "Français")]
    assert interface_language("fr") == "en" and interface_language("kk") == "kk"


# --------------------------------------------------------------------------- differential


DIFFERENTIAL_FORMS = {
    "kobo": (
        [
            {"type": "select one from yn", "name": "abroad", "label:English": "Abroad?", "label:French": "Dehors ?"},
            {
                "type": "begin group",
                "name": "work",
                "label:English": "Work",
                "label:French": "Travail",
                "bind:relevant": "${abroad} = 'yes'",
            },
            {
                "type": "string",
                "name": "employer",
                "label:English": "Employer",
                "label:French": "Employeur",
                "hint:English": "As on the contract",
                "hint:French": "Comme au contrat",
            },
            {
                "type": "integer",
                "name": "years",
                "label:English": "Years",
                "label:French": "Ans",
                "constraint": ". < 60",
                "constraint_message:English": "Too many",
                "constraint_message:French": "Trop",
            },
            {"type": "end group"},
            {"type": "calculate", "name": "double", "calculation": "${years} * 2"},
        ],
        YES_NO,
    ),  # fmt: skip
    "plain": (
        [
            {"type": "select_multiple reasons", "name": "why", "label": "Why?", "required": "true()"},
            {"type": "text", "name": "more", "label": "More", "relevant": "selected(${why}, 'pay')"},
        ],
        [
            {"list_name": "reasons", "name": "pay", "label": "Pay"},
            {"list_name": "reasons", "name": "kin", "label": "Family"},
        ],
    ),  # fmt: skip
}


def _pyxform_view(data: bytes, file_type: str = ".xlsx") -> dict[str, Any]:
    """What pyxform's own output holds (questions, choices, languages, expressions), after the
    documented rules: questions the platform leaves out, pyxform's table-list header rows and
    repeat_count calculates, and the or_other follow-up's XPath relevance (the platform writes
    it as selected(${name}, 'other'))."""
    from surveys.instrument import OMITTED_TYPES
    from surveys.xlsform_pyxform import canonical_type

    form = workbook_to_json(workbook_dict=get_xlsform(data, file_type=file_type), form_name="d")
    questions, expressions, languages = [], set(), set()
    generated = ("reserved_name_for_field_list_labels_", "generated_table_list_label_")

    def walk(children):
        counts = {c.get("control", {}).get("jr:count", "")[2:-1] for c in children if c.get("type") == "repeat"}
        for element in children:
            name = element.get("name", "")
            if name == "meta" or name.startswith(generated) or name in counts:
                continue
            if element.get("type") not in ("group", "repeat"):
                if canonical_type(element.get("type", "")) in OMITTED_TYPES:
                    continue
                questions.append(name)
            for key in ("relevant", "constraint", "calculate"):
                value = element.get("bind", {}).get(key)
                if value and not (key == "relevant" and value.startswith("selected(../")):
                    expressions.add((name, value))
            for key in ("label", "hint"):
                if isinstance(element.get(key), dict):
                    languages.update(re.sub(r"\s*\([^)]*\)\s*$", "", lang) for lang in element[key])
            walk(element.get("children", []))

    walk(form["children"])
    choices_held = {(name, c["name"]) for name, items in form.get("choices", {}).items() for c in items}
    return {"questions": questions, "expressions": expressions, "languages": languages or {"default"},
            "choices": choices_held}  # fmt: skip


def _stored_view(instrument) -> dict[str, Any]:
    expressions = set()
    extras = {f"{f.name}_other" for f in instrument.fields.values() if f.or_other}
    for owner in [*instrument.fields.values(), *instrument.groups.values()]:
        for attribute in ("relevant", "constraint", "calculation"):
            expression = getattr(owner, attribute, None)
            if expression is not None and not (owner.name in extras and attribute == "relevant"):
                expressions.add((owner.name, expression.source))
    return {
        "questions": list(instrument.fields),
        "expressions": expressions,
        "languages": {instrument.language_names.get(code, code) for code in instrument.languages},
        "choices": {
            (name.removesuffix("__or_other"), c.name)
            for name, items in instrument.choice_lists.items()
            if name != "__countries__"
            for c in items
        },
    }


def _differential_forms() -> dict[str, tuple[bytes, str]]:
    from pathlib import Path

    from tests.surveys.test_repeats import CHOICES as REPEAT_CHOICES
    from tests.surveys.test_repeats import SURVEY as REPEAT_SURVEY

    forms = {name: (xlsform(*rows), ".xlsx") for name, rows in DIFFERENTIAL_FORMS.items()}
    forms["repeats"] = (xlsform(REPEAT_SURVEY, REPEAT_CHOICES), ".xlsx")
    forms["kobo-xls"] = (xls(*DIFFERENTIAL_FORMS["kobo"]), ".xls")
    instruments = Path(__file__).resolve().parents[2] / "surveys" / "instruments"
    for path in sorted(instruments.glob("*.xlsx")):
        forms[path.stem] = (path.read_bytes(), ".xlsx")
    return forms


@pytest.mark.parametrize("name", list(_differential_forms()))
def test_what_is_stored_equals_what_pyxform_holds(name):
    data, file_type = _differential_forms()[name]
    report = import_report(data, f"form{file_type}")
    assert report.ok, report.lines()
    assert _stored_view(report.instrument) == _pyxform_view(data, file_type)


# --------------------------------------------------------------------------- any form pyxform converts

TYPES = ["text", "integer", "decimal", "date", "note", "select_one l", "select_multiple l", "geopoint", "image",
         "start", "rank l", "range", "acknowledge", "barcode", "select_one_from_file other.csv", "osm",
         "uri:deviceid", "hidden", "percentage", "select one from l", "string", "gps", "date time",
         "select_multiple l or_other", "begin_group", "end_group", "begin repeat", "end repeat"]  # fmt: skip
LOGIC = ["", "${q0} != ''", ". > 1", "once(today())", "pulldata('x', 'y', 'z', 'w')", "instance('l')/root/item",
         "${last-saved#q0}", "sqrt(4) > 1", "format-date(today(), '%Y')", "position(..) > 1", "random() < 0.5",
         "jr:choice-name(${q0}, '${q0}')", "decimal-date-time(now()) > 1", "round(sqrt(9), 1) = 3"]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(TYPES),
            st.sampled_from(LOGIC),
            st.sampled_from(["relevant", "constraint", "calculation", "required", "choice_filter"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_form_pyxform_converts_imports_or_is_refused_naming_the_feature(rows):
    survey = [{"type": "text", "name": "q0", "label": "Q0"}]
    for index, (kind, logic, column) in enumerate(rows, start=1):
        row = {"type": kind, "name": f"q{index}", "label": f"Q{index}"}
        if logic:
            row[column] = logic
        survey.append(row)
    choices = [{"list_name": "l", "name": "a", "label": "A"}, {"list_name": "l", "name": "b", "label": "B"}]
    data = xlsform(survey, choices)
    try:
        workbook_to_json(workbook_dict=get_xlsform(data, file_type=".xlsx"), form_name="d")
    except Exception:  # noqa: BLE001 (pyxform refuses it: nothing to check here)
        return
    report = import_report(data)
    if report.ok:
        return
    for problem in report.errors:  # each refusal names the feature, at its row, never a parser position
        assert problem.row is not None and "not supported" in problem.message, problem
        assert "at position" not in problem.message, problem


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_name_used_again_in_another_group_is_kept_under_its_group(fmt):
    survey = [
        {"type": "begin_group", "name": "mother", "label": "Mother"},
        {"type": "text", "name": "country", "label": "Country"},
        {"type": "end_group"},
        {"type": "begin_group", "name": "father", "label": "Father"},
        {"type": "text", "name": "country", "label": "Country"},
        {"type": "end_group"},
    ]
    report = import_report(FORMATS[fmt][0](survey), FORMATS[fmt][1])
    assert report.ok, report.lines()
    assert list(report.instrument.fields) == ["country", "father.country"]
    assert any("stored as 'father.country'" in str(note) for note in report.notes)
    outcome = validate_answers(report.instrument, {"country": "KAZ", "father.country": "DEU"}, complete=True,
                               language=None, today=None)  # fmt: skip
    assert outcome.answers == {"country": "KAZ", "father.country": "DEU"}


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>Hi",
        '<img src=x onerror="alert(1)">Hi',
        '<span style="color:red" onmouseover="alert(1)">Hi</span>',
        "[Hi](javascript:alert(1))",
        '<a href="javascript:alert(1)">Hi</a>',
        "<iframe src='https://evil.example'></iframe>Hi",
        '<span style="background:url(javascript:alert(1))">Hi</span>',
        "<svg onload=alert(1)>Hi",
    ],
)
def test_label_formatting_is_inert_against_scripts_and_event_handlers(payload):
    from surveys.labels import render_label

    shown = str(render_label(payload))
    lowered = shown.lower()
    assert "<script" not in lowered and "onerror" not in lowered and "onload" not in lowered
    assert "onmouseover" not in lowered and 'href="javascript' not in lowered and "<iframe" not in lowered
    assert "url(" not in lowered
    assert "<img" not in lowered and "<svg" not in lowered and "Hi" in shown


def test_labels_render_markdown_odk_html_and_answers_as_text():
    from surveys.labels import render_label

    assert str(render_label("Your **salary** in *tenge*")) == "Your <strong>salary</strong> in <em>tenge</em>"
    assert (
        str(render_label('<span style="color:#d00">Important</span>'))
        == '<span data-style="color:#d00">Important</span>'
    )  # applied by static/site/styles.js
    link = str(render_label("See [the rules](https://example.org/rules)"))
    assert 'href="https://example.org/rules"' in link and 'rel="noopener noreferrer nofollow"' in link
    answers = {"name": "<b>Aigerim</b>"}
    assert str(render_label("Hello, ${name}!", answers.get)) == "Hello, &lt;b&gt;Aigerim&lt;/b&gt;!"
    assert str(render_label("Plain <3 text")) == "Plain &lt;3 text"
    assert str(render_label("No markup & no tags")) == "No markup &amp; no tags"


def test_the_respondent_page_shows_a_label_with_an_answer_and_formatting():
    from surveys.pages import build_sections

    survey = [
        {"type": "text", "name": "name", "label": "Your name"},
        {"type": "select_one yn", "name": "abroad", "label": "**${name}**, do you live abroad?"},
    ]
    choices = [{"list_name": "yn", "name": "yes", "label": "Yes"}, {"list_name": "yn", "name": "no", "label": "No"}]
    instrument = imported("xlsx", survey, choices)
    sections = build_sections(instrument, 0, {"name": "Aigerim <i>"}, {}, "default", None)
    question = sections[0].questions[1]
    assert str(question.label) == "<strong>Aigerim &lt;i&gt;</strong>, do you live abroad?"


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_appearances_likert_and_a_table_list_of_select_multiple_rows(fmt):
    from surveys.pages import build_sections

    survey = [
        {"type": "date", "name": "since", "label": "Since", "appearance": "month-year"},
        {"type": "date", "name": "born", "label": "Born", "appearance": "year"},
        {"type": "select_one scale", "name": "agree", "label": "Agree?", "appearance": "likert"},
        {"type": "text", "name": "story", "label": "Story", "appearance": "multiline"},
        {"type": "begin_group", "name": "grid", "label": "Which apply?", "appearance": "table-list"},
        {"type": "select_multiple scale", "name": "row1", "label": "Row 1"},
        {"type": "select_multiple scale", "name": "row2", "label": "Row 2"},
        {"type": "end_group"},
    ]
    choices = [{"list_name": "scale", "name": str(i), "label": f"S{i}"} for i in (1, 2, 3)]
    instrument = imported(fmt, survey, choices)
    outcome = validate_answers(instrument, {"since": "2024-03", "born": "1998", "row1": ["1", "3"]}, complete=False,
                               language=None, today=None)  # fmt: skip
    assert outcome.errors == {}
    assert outcome.answers["since"] == "2024-03-01" and outcome.answers["born"] == "1998-01-01"
    questions = {
        q.name: q for s in build_sections(instrument, 0, outcome.answers, {}, "default", None) for q in s.questions
    }
    assert (questions["since"].widget, questions["since"].value) == ("month", "2024-03")
    assert (questions["born"].widget, questions["born"].value) == ("year", "1998")
    assert questions["agree"].widget == "likert" and questions["story"].widget == "textarea"
    grid = next(s for s in build_sections(instrument, 1, {}, {}, "default", None) if s.is_matrix)
    assert [q.widget for q in grid.questions] == ["checkbox", "checkbox"]


def test_the_import_report_names_the_languages_and_how_features_were_read():
    survey = [
        {"TYPE": "select one from yn", "NAME": "abroad", "label:English": "Abroad?", "label:French": "Dehors ?"},
        {"TYPE": "begin repeat", "NAME": "stays", "label:English": "Stay", "label:French": "Séjour"},
        {"TYPE": "string", "NAME": "city", "label:English": "City", "label:French": "Ville"},
        {"TYPE": "end repeat"},
    ]
    report = import_report(xlsform(survey, YES_NO, {"default_language": "English"}))
    assert report.ok, report.lines()
    assert report.languages == [
        {"code": "english", "name": "English", "default": True},
        {"code": "french", "name": "French", "default": False},
    ]
    mapped = " | ".join(report.mapped)
    assert "type 'select one from yn' read as 'select_one yn' (survey rows 2)" in mapped
    assert "type 'string' read as 'text' (survey rows 4)" in mapped
    assert "repeat 'stays': each entry's answers are kept as an object in a list under 'stays'" in mapped
    assert "_mapped" not in report.content and "languages: English (english) default, French (french)" in report.lines()


def test_an_answer_inside_a_link_or_a_style_cannot_make_it_active():
    from surveys.labels import plain_label, render_label

    answers = {"u": "javascript:alert(1)", "c": "red;position:fixed;inset:0"}.get
    link = str(render_label('<a href="${u}">site</a> and [x](${u})', answers))
    assert "javascript:" not in link.split(">site<")[0] and 'href="javascript' not in link
    styled = str(render_label('<span style="color:${c}">x</span>', answers))
    assert "position" not in styled and "inset" not in styled
    assert str(render_label("kelu-answer-3-end ${x}", {"x": "y"}.get)).endswith("y")
    assert plain_label("Job of ${name}") == "Job of "
