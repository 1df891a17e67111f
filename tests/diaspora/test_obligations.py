"""Participations, episodes and their standing on a real database: imports, links, recomputes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from diaspora.models import Episode, ObligationImport, ObligationRule, Participation, StatusChange
from diaspora.services.obligation_imports import episodes_import, participants_import
from diaspora.services.obligations import (
    ObligationError,
    episode_record,
    obligations_recompute,
    pause_record,
    rule_problems,
)

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = timezone.localdate()

HEADER = "external_id,full_name,email,cohort,graduation_date,host_country,host_institution,field_of_study\n"


def rule(programme, **overrides) -> ObligationRule:
    values = {
        "version": 1, "name": "Five years in Kazakhstan", "adopted_on": D(2015, 1, 1), "cohorts_from": 2010,
        "months_required": 60, "window_months": 96, "grace_months": 6, "countries": ["KAZ"],
    } | overrides  # fmt: skip
    return ObligationRule.objects.create(programme=programme, **values)


def csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


@pytest.fixture
def bolashak_rule(bolashak):
    return rule(bolashak)


def imported(bolashak, body: str, *, encoding="utf-8", name="list.csv", user=None) -> ObligationImport:
    return participants_import(programme=bolashak, data=csv(HEADER + body, encoding), filename=name, user=user)


def test_participants_import_adds_links_and_recomputes(bolashak, bolashak_rule):
    record = imported(
        bolashak,
        "B-1,Айгерим Нурланова,aigerim@example.org,2016,2020-06-30,GBR,University of Leeds,053\n"
        "B-2,Daniyar Sadykov,,2017,30.06.2021,USA,,061\n",
    )
    assert record.applied and record.added == 2 and record.errors == 0, record.report
    first = Participation.objects.get(external_id="B-1")
    assert first.rule == bolashak_rule and first.obligation_start == D(2020, 6, 30)
    assert first.computed_on == TODAY and first.status in ("pending_return", "breached")
    assert StatusChange.objects.filter(participation=first).count() == 1
    assert Participation.objects.get(external_id="B-2").graduation_date == D(2021, 6, 30)


def test_a_file_with_a_bad_row_changes_nothing_and_names_every_bad_row(bolashak, bolashak_rule):
    record = imported(
        bolashak,
        "B-1,Aigerim,aigerim@example.org,2016,2020-06-30,GBR,,\n"
        "B-2,Daniyar,not-an-email,2017,2021-06-30,USA,,\n"
        "B-3,Marat,,2017,2021-13-01,USA,,\n"
        "B-4,Asel,,2017,2021-06-30,Germany,,\n"
        "B-5,Ainur,,2005,2009-06-30,DEU,,\n"
        "B-1,Aigerim again,,2016,2020-06-30,GBR,,\n",
    )
    assert not record.applied and Participation.objects.count() == 0
    reasons = {entry["row"]: entry["reason"] for entry in record.report}
    assert "not-an-email" in reasons[3]
    assert "2021-13-01" in reasons[4] and "YYYY-MM-DD" in reasons[4]
    assert "did you mean DEU" in reasons[5]
    assert "no obligation rule" in reasons[6] and "2005" in reasons[6]
    assert "also on row 2" in reasons[7]


def test_both_encodings_and_xlsx_read_the_same(bolashak, bolashak_rule):
    body = "B-7,Әлия Серікқызы,,2016,2020-06-30,RUS,МГУ,\n"
    assert imported(bolashak, body, encoding="cp1251" if False else "utf-8-sig").applied
    assert Participation.objects.get(external_id="B-7").full_name == "Әлия Серікқызы"
    # Windows-1251 has no Kazakh letters: a Russian name round-trips through it.
    assert imported(bolashak, "B-8,Наталья Ким,,2016,2020-06-30,RUS,МГУ,\n", encoding="cp1251").applied
    assert Participation.objects.get(external_id="B-8").host_institution == "МГУ"
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["B-9", "Ержан", "", 2018, dt.datetime(2022, 6, 30), "KOR", "", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    record = participants_import(programme=bolashak, data=buffer.getvalue(), filename="list.xlsx", user=None)
    assert record.applied, record.report
    assert Participation.objects.get(external_id="B-9").graduation_date == D(2022, 6, 30)


def test_unreadable_files_are_refused_with_a_reason(bolashak, bolashak_rule):
    assert (
        "not a .csv or .xlsx"
        in participants_import(programme=bolashak, data=b"x", filename="a.pdf", user=None).report[0]["reason"]
    )
    assert (
        "cannot be read"
        in participants_import(programme=bolashak, data=b"PK\x03\x04junk", filename="a.xlsx", user=None).report[0][
            "reason"
        ]
    )
    missing = participants_import(
        programme=bolashak, data=b"name,email\nA,a@example.org\n", filename="a.csv", user=None
    )
    assert "Missing columns: external_id, cohort, graduation_date" in missing.report[0]["reason"]


def test_importing_the_same_file_again_changes_nothing(bolashak, bolashak_rule):
    body = "B-1,Aigerim,aigerim@example.org,2016,2020-06-30,GBR,,\n"
    imported(bolashak, body)
    history = StatusChange.objects.count()
    again = imported(bolashak, body)
    assert again.applied and again.unchanged == 1 and again.added == again.updated == 0
    assert StatusChange.objects.count() == history


def test_links_by_external_id_then_email_and_ambiguity_is_listed_not_guessed(bolashak, bolashak_rule):
    from surveys.models import Panel, PanelMember, Respondent

    panel = Panel.objects.create(name="Bolashak alumni", slug="alumni", programme=bolashak)
    by_id = Respondent.objects.create(email="first@example.org")
    PanelMember.objects.create(panel=panel, respondent=by_id, external_ids={"bolashak": "B-1"})
    by_email = Respondent.objects.create(email="second@example.org")
    PanelMember.objects.create(panel=panel, respondent=by_email)  # known to the programme
    # Two people carry the same programme id on two of its panels: which one is B-3 is not guessed.
    other_panel = Panel.objects.create(name="Bolashak 2016", slug="alumni-2016", programme=bolashak)
    for email, on in (("twin-a@example.org", panel), ("twin-b@example.org", other_panel)):
        PanelMember.objects.create(panel=on, respondent=Respondent.objects.create(email=email),
                                   external_ids={"bolashak": "B-3"})  # fmt: skip
    record = imported(
        bolashak,
        "B-1,First,other@example.org,2016,2020-06-30,GBR,,\n"
        "B-2,Second,second@example.org,2016,2020-06-30,GBR,,\n"
        "B-3,Twin,,2016,2020-06-30,GBR,,\n",
    )
    links = {entry["external_id"]: entry.get("link") for entry in record.report}
    assert Participation.objects.get(external_id="B-1").respondent == by_id and links["B-1"] == "linked by external id"
    assert Participation.objects.get(external_id="B-2").respondent == by_email and links["B-2"] == "linked by e-mail"
    twin = Participation.objects.get(external_id="B-3")
    assert twin.respondent is None and len(twin.link_candidates) == 2 and "several matches" in links["B-3"]
    from diaspora.services.obligations import participation_link_choose

    with pytest.raises(ObligationError, match="not one of"):
        participation_link_choose(twin, kind="respondent", pk=by_email.pk)
    chosen = twin.link_candidates[1]
    participation_link_choose(twin, kind="respondent", pk=chosen["id"])
    twin.refresh_from_db()
    assert twin.respondent_id == chosen["id"] and twin.link_candidates == []


EPISODES = "external_id,kind,start,end,country,region,employer,specialty_related,source\n"


def test_employment_records_import_flags_contradictions_and_skips_duplicates(bolashak, bolashak_rule):
    imported(bolashak, "B-1,Aigerim,,2016,2020-06-30,GBR,,\nB-2,Daniyar,,2016,2020-06-30,GBR,,\n")
    data = (
        EPISODES
        + "B-1,employment,2020-09-01,,KAZ,KZ-71,Nazarbayev University,yes,administrative\n"
        + "B-1,employment,2020-09-01,,KAZ,KZ-71,Nazarbayev University,yes,administrative\n"
        + "B-1,employment,2021-01-01,2021-06-30,DEU,,TU Berlin,no,employer\n"
        + "B-2,employment,01.10.2020,,KAZ,KZ-75,Kaspi,yes,\n"
    ).encode()
    record = episodes_import(programme=bolashak, data=data, filename="records.csv", user=None)
    assert record.applied and record.added == 3 and record.flagged == 1, record.report
    statuses = [entry["status"] for entry in record.report]
    assert statuses == ["added", "duplicate", "flagged", "added"]
    flagged = Episode.objects.get(country="DEU")
    assert "overlaps a employment record in KAZ" in flagged.conflict
    assert Episode.objects.filter(participation__external_id="B-1").count() == 2  # not merged
    aigerim = Participation.objects.get(external_id="B-1")
    # over 60 months in Kazakhstan since 2020-09-01, on an administrative record
    assert aigerim.status == "fulfilled" and aigerim.basis_tier == 4
    again = episodes_import(programme=bolashak, data=data, filename="records.csv", user=None)
    assert again.applied and again.added == 0 and again.unchanged == 3


def test_employment_records_with_bad_rows_change_nothing(bolashak, bolashak_rule):
    imported(bolashak, "B-1,Aigerim,,2016,2020-06-30,GBR,,\n")
    data = (
        EPISODES
        + "B-1,employment,2020-09-01,,KAZ,KZ-71,NU,yes,administrative\n"
        + "B-404,employment,2020-09-01,,KAZ,,X,,administrative\n"
        + "B-1,employment,2021-09-01,2021-01-01,KAZ,,X,,administrative\n"
        + "B-1,employment,2021-09-01,,KAZ,KZ-99,X,,administrative\n"
        + "B-1,employment,2021-09-01,,KAZ,,X,,survey\n"
    ).encode()
    record = episodes_import(programme=bolashak, data=data, filename="records.csv", user=None)
    assert not record.applied and record.errors == 4 and Episode.objects.count() == 0
    reasons = {entry["row"]: entry["reason"] for entry in record.report}
    assert "no participant 'B-404'" in reasons[3]
    assert "before the start" in reasons[4]
    assert "KZ-99" in reasons[5]
    assert "survey" in reasons[6]


def test_recompute_is_idempotent_and_history_only_on_a_change(bolashak, bolashak_rule, designer):
    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    assert obligations_recompute().changed == 0  # same day: nothing to write
    episode_record(participation, {"kind": "employment", "start": D(2025, 9, 1), "country": "KAZ"},
                   source=Episode.Source.SURVEY, user=designer)  # fmt: skip
    participation.refresh_from_db()
    assert participation.status == "in_service"
    assert list(participation.history.values_list("old_status", "new_status")) == [
        ("", "pending_return"), ("pending_return", "in_service"),
    ]  # fmt: skip
    rerun = obligations_recompute()
    assert rerun.changed == 0 and rerun.history == 0
    # The calendar moves the status on: a day far ahead the months are served.
    later = obligations_recompute(on=D(2031, 1, 1))
    assert later.history == 1
    participation.refresh_from_db()
    assert participation.status == "fulfilled"


def test_pauses_need_a_reason_and_a_deferral_an_end(bolashak, bolashak_rule, designer):
    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    with pytest.raises(ObligationError, match="reason"):
        pause_record(participation, {"kind": "exemption", "start": TODAY}, user=designer)
    with pytest.raises(ObligationError, match="deferral ends"):
        pause_record(participation, {"kind": "deferral", "start": TODAY, "reason": "PhD"}, user=designer)
    pause_record(participation, {"kind": "exemption", "start": TODAY, "reason": "Health"}, user=designer)
    participation.refresh_from_db()
    assert participation.status == "exempt"


def test_rules_are_checked(bolashak):
    bad = ObligationRule(programme=bolashak, version=2, name="x", adopted_on=D(2024, 1, 1), cohorts_from=2024,
                         cohorts_to=2020, months_required=30, window_months=12, countries=["Kazakhstan"],
                         regions=["KZ-99"])  # fmt: skip
    problems = rule_problems(bad)
    assert set(problems) == {"countries", "regions", "window_months", "cohorts_to"}


def test_episode_input_is_checked(bolashak, bolashak_rule, designer):
    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    for data, message in [
        ({"kind": "job", "start": "2025-01-01", "country": "KAZ"}, "kind"),
        ({"kind": "employment", "start": "", "country": "KAZ"}, "start date is required"),
        ({"kind": "employment", "start": "2025-02-30", "country": "KAZ"}, "not a date"),
        ({"kind": "employment", "start": "2025-01-01", "country": "DEU", "region": "KZ-71"}, "country is DEU"),
        ({"kind": "employment", "start": "2025-01-01", "country": "KAZ", "occupation": "25"}, "ISCO-08"),
    ]:
        with pytest.raises(ObligationError, match=message):
            episode_record(participation, data, source=Episode.Source.PARTICIPANT, user=designer)
    assert Episode.objects.count() == 0


# --------------------------------------------------------------------------- survey answers and employers


def answered(version, user, answers, instance=None):
    import uuid

    from surveys.services.responses import response_submit

    version.survey.direct_responses = True
    version.survey.programme = Participation.objects.first().programme  # the programme's own survey
    version.survey.save(update_fields=["direct_responses", "programme"])
    from diaspora.services.obligations import episodes_from_recent_responses

    response, _ = response_submit(version=version, respondent=user, instance_id=instance or uuid.uuid4(),
                                  status="complete", answers=answers, language="en")  # fmt: skip
    assert episodes_from_recent_responses() == 1
    assert episodes_from_recent_responses() == 0  # in line already: nothing to write
    return response


def test_a_completed_survey_response_records_self_reported_episodes(
    bolashak, bolashak_rule, graduate_version, respondent
):
    from surveys.samples import SAMPLE_GRADUATE_ANSWERS

    imported(bolashak, f"B-1,Aigerim,{respondent.email},2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    from surveys.models import Respondent

    participation.respondent = Respondent.objects.create(email=respondent.email, user=respondent)
    participation.save()
    abroad = {**SAMPLE_GRADUATE_ANSWERS, "country_residence": "GBR", "respondent_status": "graduated",
              "employment_status": "job_related", "return_intention": "after_work_abroad"}  # fmt: skip
    abroad.pop("return_year", None)
    answered(graduate_version, respondent, abroad)
    kinds = set(Episode.objects.filter(participation=participation).values_list("kind", "country", "source"))
    assert kinds == {("residence", "GBR", "survey"), ("employment", "GBR", "survey")}
    participation.refresh_from_db()
    assert participation.status == "pending_return" and participation.basis_tier == 1
    # Later: back home and working in the field.
    home = {**abroad, "country_residence": "KAZ", "return_intention": "already_returned", "return_year": TODAY.year}
    for name in [k for k in home if k.startswith("barrier_")] + ["return_factors"]:
        home.pop(name)  # not asked of someone back home
    answered(graduate_version, respondent, home)
    participation.refresh_from_db()
    assert participation.status == "in_service" and participation.returned_on == D(TODAY.year, 1, 1)
    assert Episode.objects.filter(participation=participation, end__isnull=True, country="GBR").count() == 0


def test_the_employer_link_confirms_once_only_its_episode_and_expires(bolashak, bolashak_rule, designer, mailoutbox):
    from diaspora.models import EmployerConfirmation
    from diaspora.services.obligations import (
        LinkRefused,
        employer_link_answer,
        employer_link_open,
        employer_link_request,
    )

    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    episode = episode_record(participation, {"kind": "employment", "start": D(2025, 9, 1), "country": "KAZ",
                                             "employer": "Kaspi"}, source=Episode.Source.PARTICIPANT, user=designer)  # fmt: skip
    link = employer_link_request(episode, email="hr@kaspi.example", user=designer, base_url="https://kelu.example")
    assert link in mailoutbox[-1].body and mailoutbox[-1].to == ["hr@kaspi.example"]
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert employer_link_open(token).episode == episode
    with pytest.raises(LinkRefused):
        employer_link_open(token + "x")  # another token opens nothing
    confirmation = employer_link_answer(token, corrections={"start": "2025-10-01"})
    assert confirmation.outcome == "corrected" and confirmation.corrections == {"start": "2025-10-01"}
    episode.refresh_from_db()
    assert episode.source == "employer" and episode.start == D(2025, 10, 1) and episode.tier == 3
    with pytest.raises(LinkRefused, match="already been used"):
        employer_link_answer(token)
    second = employer_link_request(episode, email="hr@kaspi.example", user=designer, base_url="https://kelu.example")
    EmployerConfirmation.objects.filter(episode=episode, used_at__isnull=True).update(expires_at=timezone.now())
    with pytest.raises(LinkRefused, match="expired"):
        employer_link_open(second.rstrip("/").rsplit("/", 1)[-1])


def test_the_weekly_digest_mails_each_programmes_administrators_once(bolashak, bolashak_rule, designer, mailoutbox):
    from diaspora.services.obligations import obligations_digest

    designer.email = "admin@bolashak.example"
    designer.save()
    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    StatusChange.objects.create(participation=participation, old_status="pending_return", new_status="in_service",
                                reason="in qualifying work since 2025-09-01", months_served=2,
                                changed_on=monday - dt.timedelta(days=3))  # fmt: skip
    result = obligations_digest(on=monday)
    assert result.sent == 1 and mailoutbox[-1].to == ["admin@bolashak.example"]
    assert "Aigerim (B-1, cohort 2022): Pending return -> In service" in mailoutbox[-1].body
    assert obligations_digest(on=monday).sent == 0  # once a week


def test_answers_to_another_programmes_survey_and_its_people_are_never_linked(
    bolashak, bolashak_rule, graduate_version, respondent
):
    """An import links only people known to the programme; survey episodes come from its own surveys."""
    from accounts.models import Programme
    from diaspora.services.obligations import survey_episodes_sync
    from surveys.models import Panel, PanelMember, Respondent
    from surveys.samples import SAMPLE_GRADUATE_ANSWERS

    serpin = Programme.objects.create(slug="serpin", name="Serpin")
    elsewhere = Respondent.objects.create(email=respondent.email, user=respondent)
    PanelMember.objects.create(panel=Panel.objects.create(name="Serpin panel", slug="serpin-panel", programme=serpin),
                               respondent=elsewhere)  # fmt: skip
    record = imported(bolashak, f"B-1,Someone,{respondent.email},2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    assert participation.respondent is None and participation.person is None and "link" not in record.report[0]
    # Even linked by hand, answers to Serpin's survey stay Serpin's.
    participation.respondent = elsewhere
    participation.save()
    graduate_version.survey.programme = serpin
    graduate_version.survey.direct_responses = True
    graduate_version.survey.save()
    import uuid

    from surveys.services.responses import response_submit

    response_submit(version=graduate_version, respondent=respondent, instance_id=uuid.uuid4(), status="complete",
                    answers={**SAMPLE_GRADUATE_ANSWERS, "country_residence": "GBR"}, language="en")  # fmt: skip
    assert survey_episodes_sync(participation) == 0 and not participation.episodes.exists()


def test_a_participant_cannot_send_the_employer_link_to_themselves(bolashak, bolashak_rule, respondent):
    from diaspora.services.obligations import employer_link_request

    imported(bolashak, f"B-1,Aigerim,{respondent.email},2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    episode = episode_record(participation, {"kind": "employment", "start": D(2025, 9, 1), "country": "KAZ"},
                             source=Episode.Source.PARTICIPANT, user=respondent)  # fmt: skip
    with pytest.raises(ObligationError, match="own address"):
        employer_link_request(episode, email=respondent.email.upper(), user=respondent, base_url="http://x")


def test_an_employer_confirmation_survives_the_survey_sync(bolashak, bolashak_rule, graduate_version, respondent):
    from diaspora.services.obligations import survey_episodes_sync
    from surveys.models import Respondent
    from surveys.samples import SAMPLE_GRADUATE_ANSWERS

    imported(bolashak, "B-1,Aigerim,,2022,2025-06-30,GBR,,\n")
    participation = Participation.objects.get()
    participation.respondent = Respondent.objects.create(email=respondent.email, user=respondent)
    participation.save()
    answered(graduate_version, respondent, {**SAMPLE_GRADUATE_ANSWERS, "country_residence": "KAZ",
                                            "employment_status": "job_related"})  # fmt: skip
    job = participation.episodes.get(kind="employment")
    Episode.objects.filter(pk=job.pk).update(source=Episode.Source.EMPLOYER, start=D(2025, 10, 1))
    survey_episodes_sync(participation)
    job.refresh_from_db()
    assert job.source == "employer" and job.start == D(2025, 10, 1)
    assert participation.episodes.filter(kind="employment").count() == 1


def test_impossible_dates_are_refused_with_a_reason(bolashak, bolashak_rule):
    record = imported(bolashak, "B-1,A,,2016,31.12.9999,GBR,,\n")
    assert not record.applied and "is not between 1990" in record.report[0]["reason"]
