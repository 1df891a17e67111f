"""The interface exists in kk, ru and en; CI fails when a message lacks a translation."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import translation
from django.utils.formats import date_format, number_format, time_format

from config.collation import sorted_by, sorted_choices
from surveys.answers import MESSAGES
from surveys.translations import Completeness, catalogue_completeness, catalogue_entries

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_validation_message_is_translated(language):
    with translation.override(language):
        untranslated = [str(m) for key, m in MESSAGES.items() if str(m) == _english(m)]
    assert untranslated == []


def _english(message):
    with translation.override("en"):
        return str(message)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_compiled_catalogues_match_their_sources(language):
    """Every entry of the .po has a translation (every plural form too), and the shipped .mo gives the
    same one, looked up with its context where it has one."""
    entries = catalogue_entries(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
    assert entries
    with translation.override(language):
        for entry in entries:
            assert entry.translated, f"{entry.msgid!r} has no {language} translation"
            for n, expected in _forms(entry, language):
                assert _lookup(entry, n) == expected, f"django.mo is stale for {entry.msgid!r}: compile the catalogues"


def _forms(entry, language):
    """(a number, the form the catalogue gives for it): one per plural form."""
    if not entry.msgid_plural:
        return [(None, entry.msgstrs[0])]
    samples = {"kk": [1, 2], "ru": [1, 2, 5]}[language]
    index = {"kk": lambda n: int(n != 1), "ru": _ru_plural}[language]
    return [(n, entry.msgstrs[index(n)]) for n in samples]


def _ru_plural(n):
    if n % 10 == 1 and n % 100 != 11:
        return 0
    return 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2


def _lookup(entry, n):
    if entry.msgid_plural:
        if entry.msgctxt:
            return translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
        return translation.ngettext(entry.msgid, entry.msgid_plural, n)
    if entry.msgctxt:
        return translation.pgettext(entry.msgctxt, entry.msgid)
    return translation.gettext(entry.msgid)


# --------------------------------------------------------------------------- contexts


@pytest.mark.parametrize(
    ("language", "sender", "recipient", "date_from", "date_to"),
    [("kk", "Кімнен", "Кімге", "Бастап", "Дейін"), ("ru", "От кого", "Кому", "С", "По")],
)
def test_a_messages_sender_and_recipient_are_not_a_date_range(language, sender, recipient, date_from, date_to):
    with translation.override(language):
        assert translation.pgettext("message sender", "From") == sender
        assert translation.pgettext("message recipient", "To") == recipient
        assert (translation.gettext("From"), translation.gettext("To")) == (date_from, date_to)


def test_the_inbox_heading_and_a_run_status_have_their_own_words():
    with translation.override("ru"):
        assert translation.pgettext("sent messages heading", "Sent") == "Отправленные"
        assert translation.gettext("Sent") == "Отправлено"  # an invitation's status
        assert translation.pgettext("matching run status", "Complete") == "Завершён"
    with translation.override("kk"):
        assert translation.pgettext("sent messages heading", "Sent") == "Жіберілген хабарламалар"


def test_the_matching_run_status_uses_its_context():
    from diaspora.models import MatchRun

    with translation.override("ru"):
        labels = dict(MatchRun.Status.choices)
        assert (str(labels["created"]), str(labels["complete"])) == ("Создан", "Завершён")


def test_inbox_templates_ask_for_the_sender_and_recipient_in_context():
    for name in ("list.html", "message.html"):
        text = (ROOT / "diaspora" / "templates" / "diaspora" / "inbox" / name).read_text(encoding="utf-8")
        assert 'translate "From" %}' not in text and 'translate "To" %}' not in text
        assert 'context "message sender"' in text and 'context "message recipient"' in text


# --------------------------------------------------------------------------- plurals


@pytest.mark.parametrize(
    ("hours", "ending"), [(1, "1 час"), (2, "2 часа"), (5, "5 часов"), (11, "11 часов"), (21, "21 час")]
)
def test_russian_hours_agree_with_their_number(hours, ending):
    from diaspora.explanations import explain

    match = SimpleNamespace(details={}, components={"timezone": hours / 9})
    [text] = explain(match, language="ru", show_location=True)
    assert text == f"рабочие часы совпадают на {ending}"


@pytest.mark.parametrize(
    ("left", "ru", "kk"),
    [(1, "осталось 1 взаимодействие", "тағы 1 рет"), (3, "осталось 3 взаимодействия", "тағы 3 рет"),
     (7, "осталось 7 взаимодействий", "тағы 7 рет")],
)  # fmt: skip
def test_engagements_left_are_counted_in_each_language(left, ru, kk):
    from diaspora.explanations import explain

    details = {"mode": "mentoring", "remote": True, "remaining_after": left, "unit": "engagements"}
    match = SimpleNamespace(details=details, components={})
    assert ru in explain(match, language="ru", show_location=False)[0]
    assert kk in explain(match, language="kk", show_location=False)[0]
    assert "қатысу" not in explain(match, language="kk", show_location=False)[0]


@pytest.mark.parametrize(("days", "words"), [(1, "1 дня"), (3, "3 дней"), (30, "30 дней"), (21, "21 дня")])
def test_the_stale_profile_notice_counts_days_in_russian(days, words):
    from diaspora.services.messages import _notice

    with translation.override("ru"):
        _, body = _notice("stale_warning", {"days": days})
    assert f"в течение {words}," in body and "дн." not in body


def test_the_capacity_refusal_agrees_with_the_limit():
    from diaspora.models import Offer
    from diaspora.services.lifecycle import _limit_used_up

    with translation.override("ru"):
        one = _limit_used_up(1, Offer(capacity=1, unit=Offer.Unit.ENGAGEMENTS))
        five = _limit_used_up(5, Offer(capacity=5, unit=Offer.Unit.ENGAGEMENTS))
        hours = _limit_used_up(8, Offer(capacity=8, unit=Offer.Unit.HOURS))
    assert one == "Лимит на квартал исчерпан: занято 1 из 1 взаимодействия."
    assert five.endswith("из 5 взаимодействий.") and hours.endswith("из 8 часов.")


def test_a_profile_card_counts_its_unit():
    from diaspora.views.display import offer_view

    base = {"mode": "mentoring", "remote": True, "onsite": False, "unit": "engagements"}
    with translation.override("ru"):
        assert offer_view({**base, "capacity": 1})["unit_label"] == "взаимодействие в квартал"
        assert offer_view({**base, "capacity": 5})["unit_label"] == "взаимодействий в квартал"


# --------------------------------------------------------------------------- dates and numbers


def test_kazakh_dates_are_day_month_year_and_24_hour():
    moment = dt.datetime(2026, 11, 30, 15, 4)
    with translation.override("kk"):
        assert date_format(moment, "DATE_FORMAT") == "30.11.2026"
        assert date_format(moment, "DATETIME_FORMAT") == "30.11.2026 15:04"
        assert time_format(moment.time(), "TIME_FORMAT") == "15:04"
        assert number_format(1234.5, 1, force_grouping=True) == "1\xa0234,5"


def test_russian_dates_keep_the_genitive_month_and_24_hour_time():
    moment = dt.datetime(2026, 11, 30, 15, 4)
    with translation.override("ru"):
        assert date_format(moment, "DATETIME_FORMAT") == "30 ноября 2026 г. 15:04"


def test_a_sentence_ending_in_a_russian_date_has_one_full_stop():
    with translation.override("ru"):
        date = date_format(dt.date(2026, 11, 30), "DATE_FORMAT")
        text = translation.gettext("Please answer by %(date)s.") % {"date": date}
    assert text == "Срок ответа: 30 ноября 2026 г." and ".." not in text


def test_a_kazakh_deadline_takes_the_date_as_a_value():
    with translation.override("kk"):
        date = date_format(dt.date(2026, 11, 30), "DATE_FORMAT")
        text = translation.gettext("Please answer by %(date)s.") % {"date": date}
    assert text == "Жауап беру мерзімі: 30.11.2026."


def test_an_obligation_reason_writes_its_date_in_the_readers_language():
    from diaspora.obligation_time import translated

    pair = ["in qualifying work since %(date)s", {"date": "2025-09-01"}]
    with translation.override("kk"):
        assert translated(pair) == "есептелетін жұмыста (басталған күні: 01.09.2025)"
    with translation.override("ru"):
        assert translated(pair) == "на засчитываемой работе с 1 сентября 2025 г."


# --------------------------------------------------------------------------- Django's own messages, in Kazakh


def test_the_password_rules_speak_kazakh():
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError

    with translation.override("kk"):
        with pytest.raises(ValidationError) as refused:
            password_validation.validate_password("1234")
        messages = " ".join(refused.value.messages)
    assert "Құпиясөз тым қысқа: кемінде 8 таңба" in messages and "цифрлардан тұрады" in messages
    assert "password" not in messages.lower()


def test_the_russian_password_length_rule_uses_the_right_case():
    from django.contrib.auth import password_validation

    with translation.override("ru"):
        assert "не меньше 8 символов" in password_validation.password_validators_help_texts()[1]


# --------------------------------------------------------------------------- collation


def test_kazakh_lists_put_kazakh_letters_in_their_place():
    names = ["Япония", "Қазақстан", "Кувейт", "Латвия", "Өзбекстан", "Іран", "Әзербайжан", "Австрия", "Ыстамбұл"]
    assert sorted_by(names, "kk", key=str) == [
        "Австрия", "Әзербайжан", "Кувейт", "Қазақстан", "Латвия", "Өзбекстан", "Ыстамбұл", "Іран", "Япония",
    ]  # fmt: skip


def test_russian_lists_sort_yo_with_ye():
    # Ё is Е with a diaeresis: "Ёлка" files as "Елка", before "Ель" (plain sorted() puts Ё after Я).
    assert sorted_by(["Ёлка", "Ель", "Яма", "Жук", "Еда"], "ru", key=str) == ["Еда", "Ёлка", "Ель", "Жук", "Яма"]


def test_choices_keep_the_blank_choice_in_front():
    choices = [("", "Choose..."), ("JPN", "Жапония"), ("KAZ", "Қазақстан"), ("AUT", "Австрия")]
    assert sorted_choices(choices, "kk") == [("", "Choose..."), ("AUT", "Австрия"), ("JPN", "Жапония"),
                                             ("KAZ", "Қазақстан")]  # fmt: skip


def test_without_icu_lists_fall_back_to_a_caseless_sort_and_say_so(monkeypatch, caplog):
    from config import collation

    monkeypatch.setattr(collation, "icu", None)
    collation._collator.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="config.collation"):
            assert sorted_by(["b", "A", "c"], "kk", key=str) == ["A", "b", "c"]
        assert "PyICU is not installed" in caplog.text
    finally:
        collation._collator.cache_clear()


def test_the_registry_country_list_follows_the_kazakh_alphabet():
    from diaspora.forms import country_options

    names = [label for code, label in country_options("kk")[1:]]
    assert len(names) > 240
    position = names.index("Қазақстан")
    assert names[position - 1].startswith("К") or names[position - 1].startswith("Қ")
    assert position < names.index("Латвия") < names.index("Өзбекстан") < names.index("Ресей")
    assert position < 130  # not 241 of 249, after Я


def test_language_names_are_capitalised_and_use_kazakhstans_names():
    from diaspora.vocabularies import language_label

    assert language_label("de", "kk") == "Неміс тілі" and language_label("de", "ru") == "Немецкий"
    assert language_label("he", "kk") == "Иврит" and language_label("ky", "ru") == "Кыргызский"


def test_russian_calls_kyrgyzstan_by_its_own_name():
    from surveys.countries import country_choices

    assert dict(country_choices())["KGZ"]["ru"] == "Кыргызстан"


# --------------------------------------------------------------------------- one wording for the classifiers


@pytest.mark.parametrize("name", ["graduate_return", "diaspora_professionals"])
def test_survey_fields_and_occupations_read_as_the_registry_names_them(name):
    from diaspora.vocabularies import ISCED_BROAD, ISCO_MAJOR_GROUPS
    from surveys.demo import standard_instrument_path
    from surveys.xlsform import import_report

    path = standard_instrument_path(name)
    instrument = import_report(path.read_bytes(), path.name).instrument
    checked = 0
    for list_name, choices in instrument.choice_lists.items():
        for choice in choices:
            if list_name == "isced_f":
                expected = ISCED_BROAD[choice.name[1:3]]
            elif list_name == "isco08":
                expected = ISCO_MAJOR_GROUPS[choice.name[5]]
            else:
                continue
            assert choice.labels == {lang: expected[lang] for lang in choice.labels}, choice.name
            checked += 1
    assert checked >= 11


def test_the_shipped_surveys_follow_the_translation_review():
    from surveys.demo import standard_instrument_path
    from surveys.xlsform import import_report

    path = standard_instrument_path("graduate_return")
    instrument = import_report(path.read_bytes(), path.name).instrument
    midpoint = next(c for c in instrument.choice_lists["likelihood5"] if c.name == "3")
    assert midpoint.labels["kk"] == "Ықтимал да, ықтималсыз да емес"
    assert "2027" in instrument.fields["expected_graduation_year"].hints["en"]
    assert "10 минут кетеді" in instrument.fields["intro"].labels["kk"]
    returned = next(c for c in instrument.choice_lists["return_intention"] if c.name == "already_returned")
    assert returned.labels["ru"] == "Я уже вернулся(-ась)"


# --------------------------------------------------------------------------- the report counts everything


def test_the_report_counts_plural_and_context_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: ru\\n"\n\n'
        'msgctxt "message sender"\nmsgid "From"\nmsgstr "От кого"\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "%(n)s день"\nmsgstr[1] ""\n\n'
        '#, fuzzy\nmsgid "Old"\nmsgstr "Старое"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Нет"\n',
        encoding="utf-8",
    )
    assert catalogue_completeness(po) == Completeness(present=1, needed=3)


@pytest.mark.django_db
def test_the_report_counts_survey_titles_and_wave_names(graduate_version):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from surveys.models import Wave

    Wave.objects.create(survey=graduate_version.survey, version=graduate_version, slug="w", name="Graduates 2026",
                        names={"en": "Graduates 2026", "ru": "Выпускники 2026"})  # fmt: skip
    out = StringIO()
    with pytest.raises(CommandError, match="wave name w kk"):
        call_command("translation_report", "--strict", stdout=out)
    assert "Survey titles: kk: 2/2 (100%)" in out.getvalue()  # both shipped instruments
    assert "Wave names: kk: 0/1 (0%)  ru: 1/1 (100%)" in out.getvalue()
    Wave.objects.filter(slug="w").update(names={"en": "Graduates 2026", "ru": "Выпускники 2026", "kk": "Түлектер 2026"})
    call_command("translation_report", "--strict", stdout=StringIO())


# --------------------------------------------------------------------------- survey titles and wave names


@pytest.mark.django_db
def test_survey_titles_and_wave_names_follow_the_readers_language(graduate_version):
    from surveys.models import Wave

    survey = graduate_version.survey
    survey.refresh_from_db()  # publishing stored its titles per language
    wave = Wave.objects.create(survey=survey, version=graduate_version, slug="w", name="Graduates 2026",
                               names={"kk": "Түлектер, 2026", "ru": "Выпускники, 2026"})  # fmt: skip
    with translation.override("kk"):
        assert survey.local_title == "Түлектердің елге оралу ниеті туралы сауалнама"
        assert wave.local_name == "Түлектер, 2026"
    with translation.override("ru"):
        assert survey.local_title == "Опрос выпускников о намерении вернуться" and wave.local_name == "Выпускники, 2026"
    with translation.override("en"):
        assert wave.local_name == "Graduates 2026"  # no English name given: the name itself
