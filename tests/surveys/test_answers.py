import datetime as dt

import pytest

from surveys.answers import validate_answers
from surveys.instrument import compile_instrument

EN, KK, RU = "label::English (en)", "label::Қазақша (kk)", "label::Русский (ru)"
TODAY = dt.date(2026, 11, 21)


def instrument(survey, choices=()):
    rows = [{"_row": i + 2, **row} for i, row in enumerate(survey)]
    choice_rows = [{"_row": i + 2, **row} for i, row in enumerate(choices)]
    return compile_instrument(
        {"survey": rows, "choices": choice_rows, "settings": {"default_language": "English (en)"}}
    )


def check(form, answers, complete=True, language="en"):
    return validate_answers(form, answers, complete=complete, language=language, today=TODAY)


YES_NO = [{"list_name": "yn", "name": "yes", EN: "Yes"}, {"list_name": "yn", "name": "no", EN: "No"}]


@pytest.fixture
def form():
    return instrument(
        [
            {
                "type": "integer",
                "name": "age",
                EN: "Age",
                "required": "yes",
                "constraint": ". >= 16",
                "constraint_message::English (en)": "You must be 16 or older",
            },
            {"type": "decimal", "name": "gpa", EN: "GPA"},
            {"type": "select_one yn", "name": "abroad", EN: "Abroad?", "required": "yes"},
            {"type": "text", "name": "city", EN: "City", "relevant": "${abroad} = 'yes'", "required": "yes"},
            {"type": "select_multiple modes", "name": "modes", EN: "Modes"},
            {"type": "date", "name": "left_on", EN: "Left on", "constraint": ". <= today()"},
            {"type": "range", "name": "likely", EN: "Likely", "parameters": "start=1 end=5 step=1"},
            {"type": "rank yn", "name": "order", EN: "Order"},
            {"type": "calculate", "name": "age_next_year", "calculation": "${age} + 1"},
            {"type": "note", "name": "thanks", EN: "Thanks"},
        ],
        [
            *YES_NO,
            {"list_name": "modes", "name": "mentor", EN: "M"},
            {"list_name": "modes", "name": "lecture", EN: "L"},
        ],
    )


def test_valid_answers_are_cleaned_and_typed(form):
    outcome = check(
        form,
        {
            "age": "30",
            "gpa": "3.5",
            "abroad": "yes",
            "city": "Berlin",
            "modes": "mentor lecture",
            "left_on": "2020-09-01",
            "likely": 4,
            "order": ["no", "yes"],
        },
    )
    assert outcome.errors == {}
    assert outcome.answers == {
        "age": 30,
        "gpa": 3.5,
        "abroad": "yes",
        "city": "Berlin",
        "modes": ["mentor", "lecture"],
        "left_on": "2020-09-01",
        "likely": 4,
        "order": ["no", "yes"],
        "age_next_year": 31,
    }


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"age": "thirty"}, "age", "Enter a whole number."),
        ({"age": True}, "age", "Enter a whole number."),
        ({"age": 10**20}, "age", "The number is too large."),
        ({"gpa": "abc"}, "gpa", "Enter a number."),
        ({"gpa": float("nan")}, "gpa", "Enter a number."),
        ({"abroad": "maybe"}, "abroad", "“maybe” is not one of the options."),
        ({"modes": ["mentor", "mentor"]}, "modes", "Each option can be chosen only once."),
        ({"modes": {"a": 1}}, "modes", "Choose one or more of the options."),
        ({"left_on": "21/11/2026"}, "left_on", "Enter a date as YYYY-MM-DD."),
        ({"left_on": "2027-01-01"}, "left_on", "This answer is not valid."),
        ({"likely": 7}, "likely", "Choose a value from 1 to 5."),
        ({"likely": 2.5}, "likely", "Choose a value in steps of 1."),
        ({"order": ["yes"]}, "order", "Put every option in order, each exactly once."),
        ({"age": 12}, "age", "You must be 16 or older"),
        ({"nonsense": 1}, "nonsense", "This is not a question of this survey version."),
    ],
)
def test_invalid_answers_are_named_with_a_reason(form, answers, field, message):
    outcome = check(form, {"age": 30, "abroad": "no", **answers}, complete=False)
    assert outcome.errors[field] == message


def test_required_answers_are_checked_only_on_completion(form):
    assert check(form, {}, complete=False).errors == {}
    errors = check(form, {}, complete=True).errors
    assert errors == {"age": "This question requires an answer.", "abroad": "This question requires an answer."}


def test_answers_to_questions_that_are_not_relevant_are_dropped(form):
    outcome = check(form, {"age": 30, "abroad": "no", "city": "Berlin"})
    assert outcome.errors == {}
    assert "city" not in outcome.answers


def test_a_relevant_required_question_must_be_answered(form):
    assert check(form, {"age": 30, "abroad": "yes"}).errors == {"city": "This question requires an answer."}


def test_an_invalid_answer_to_an_irrelevant_question_is_not_an_error(form):
    outcome = check(form, {"age": 30, "abroad": "no", "city": ["not", "text"]})
    assert outcome.errors == {}


def test_calculations_are_computed_on_the_server(form):
    outcome = check(form, {"age": 30, "abroad": "no", "age_next_year": 99})
    assert outcome.answers["age_next_year"] == 31


def test_group_relevance_applies_to_its_questions():
    form = instrument(
        [
            {"type": "select_one yn", "name": "employed", EN: "Employed?"},
            {"type": "begin_group", "name": "job", EN: "Job", "relevant": "${employed} = 'yes'"},
            {"type": "text", "name": "employer", EN: "Employer", "required": "yes"},
            {"type": "end_group"},
        ],
        YES_NO,
    )
    assert check(form, {"employed": "no", "employer": "ACME"}).answers == {"employed": "no"}
    assert check(form, {"employed": "yes"}).errors == {"employer": "This question requires an answer."}


def test_choice_filters_limit_the_options():
    form = instrument(
        [
            {"type": "select_one region", "name": "region", EN: "Region"},
            {"type": "select_one city", "name": "city", EN: "City", "choice_filter": "region = ${region}"},
        ],
        [
            {"list_name": "region", "name": "north", EN: "North"},
            {"list_name": "region", "name": "south", EN: "South"},
            {"list_name": "city", "name": "pavlodar", EN: "Pavlodar", "region": "north"},
            {"list_name": "city", "name": "shymkent", EN: "Shymkent", "region": "south"},
        ],
    )
    assert check(form, {"region": "north", "city": "pavlodar"}).errors == {}
    assert check(form, {"region": "north", "city": "shymkent"}).errors == {
        "city": "“shymkent” is not one of the options."
    }


def test_or_other_requires_the_specification_when_other_is_chosen():
    form = instrument([{"type": "select_one yn or_other", "name": "pick", EN: "Pick"}], YES_NO)
    assert check(form, {"pick": "other"}).errors == {"pick_other": "This question requires an answer."}
    assert check(form, {"pick": "other", "pick_other": "Depends"}).answers == {"pick": "other", "pick_other": "Depends"}


def test_dynamic_required_expressions():
    form = instrument(
        [
            {"type": "select_one yn", "name": "returned", EN: "Returned?"},
            {"type": "integer", "name": "year", EN: "Year", "required": "${returned} = 'yes'"},
        ],
        YES_NO,
    )
    assert check(form, {"returned": "no"}).errors == {}
    assert check(form, {"returned": "yes"}).errors == {"year": "This question requires an answer."}


def test_relevance_that_reads_a_later_answer_settles():
    form = instrument(
        [
            {"type": "text", "name": "why", EN: "Why?", "relevant": "${stay} = 'no'"},
            {"type": "select_one yn", "name": "stay", EN: "Stay?"},
        ],
        YES_NO,
    )
    assert check(form, {"why": "pay", "stay": "yes"}).answers == {"stay": "yes"}
    assert check(form, {"why": "pay", "stay": "no"}).answers == {"why": "pay", "stay": "no"}


def test_an_expression_that_fails_at_run_time_is_reported_on_its_question():
    form = instrument(
        [
            {"type": "text", "name": "code", EN: "Code", "constraint": "regex(., ${pattern})"},
            {"type": "text", "name": "pattern", EN: "Pattern"},
        ]
    )
    outcome = check(form, {"code": "abc", "pattern": "("})
    assert outcome.errors["code"].startswith("This answer could not be checked: invalid regular expression")


def test_messages_follow_the_respondents_language():
    form = instrument([{"type": "integer", "name": "age", EN: "Age", KK: "Жас", RU: "Возраст", "required": "yes"}])
    assert check(form, {}, language="kk").errors["age"] == "Бұл сұраққа жауап беру міндетті."
    assert check(form, {}, language="ru").errors["age"] == "Ответьте, пожалуйста, на этот вопрос."
    assert check(form, {"age": "x"}, language="kk").errors["age"] == "Бүтін сан енгізіңіз."


def test_the_forms_own_messages_are_used_in_the_respondents_language():
    form = instrument(
        [
            {
                "type": "integer",
                "name": "age",
                EN: "Age",
                RU: "Возраст",
                "constraint": ". >= 16",
                "constraint_message::English (en)": "Too young",
                "constraint_message::Русский (ru)": "Слишком молоды",
            }
        ]
    )
    assert check(form, {"age": 3}, language="ru").errors["age"] == "Слишком молоды"
    assert check(form, {"age": 3}, language="kk").errors["age"] == "Too young"  # falls back to the default language


@pytest.mark.parametrize("text", ["nul\x00byte", "lone \udc80 surrogate"])
def test_text_that_no_database_can_store_is_refused(text):
    form = instrument([{"type": "text", "name": "note", EN: "Note"}])
    assert check(form, {"note": text}).errors == {"note": "The text contains characters that are not allowed."}
