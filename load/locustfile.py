"""`make load`'s scenario: respondents answering, staff reading dashboards, API clients reading.

The mix of simulated users (by weight): 70 % respondents who open the public survey link, save
each page (the page script's autosave, then the form's "Next") and submit; 20 % programme
administrators signed in on the staff pages (wave list, a wave's dashboard, its per-question
summaries and responses, the analysis pages); 10 % API clients reading with a token (waves,
indicator tables, monitoring). Requests are named by route, not by address, so the table groups
them. The accounts and tokens come from LOAD_ACCOUNTS (a JSON file the script writes).

Run by `load/run.sh` (`make load`), never in CI.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, task

ROOT = Path(__file__).resolve().parent.parent
SURVEY_WAVE = os.environ.get("LOAD_WAVE", "graduates-2026")
# The waves the staff look at: the one being answered and the synthetic ones of 10,000 responses.
STAFF_WAVES = os.environ.get("LOAD_STAFF_WAVES", "graduates-2026,graduates-2025-synthetic,graduates-2024-synthetic")
PILLARS = ("gain", "train", "circulation", "linkage")

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE = re.compile(r'<input type="hidden" name="page" value="(\d+)"')
LAST = re.compile(r'name="action" value="finish" class="primary"')
MAX_PAGES = 30  # a respondent gives up after this many pages (never reached by the graduate survey)

WEIGHTS = {"Respondent": 70, "Staff": 20, "ApiClient": 10}


def _accounts() -> dict:
    path = os.environ.get("LOAD_ACCOUNTS", "")
    return json.loads(Path(path).read_text()) if path else {"staff": [], "api": []}


def _sample_answers() -> dict:
    # The answers a valid graduate response gives (plain data, no Django set-up).
    import sys

    sys.path.insert(0, str(ROOT))
    from surveys.samples import SAMPLE_GRADUATE_ANSWERS

    return SAMPLE_GRADUATE_ANSWERS


ANSWERS = _sample_answers()
COUNTRIES = ["DEU", "USA", "GBR", "RUS", "KOR", "CHN", "TUR", "FRA", "CZE", "MYS"]


def form_fields(answers: dict) -> list[tuple[str, str]]:
    """The answers as the page's form posts them (lists as repeated keys, repeat entries by position)."""
    fields: list[tuple[str, str]] = []
    for name, value in answers.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            fields.append((f"{name}__count", str(len(value))))
            for index, entry in enumerate(value, start=1):
                fields += [(f"{name}[{index}].{key}", str(v)) for key, v in entry.items()]
        elif isinstance(value, list):
            fields += [(name, str(v)) for v in value]
        else:
            fields.append((name, str(value)))
    return fields


class Respondent(HttpUser):
    """Opens the public link, saves every page and submits; then, as a new respondent, again.

    Between two pages the respondent reads and answers (5-15 s, a page holds several questions).
    """

    weight = WEIGHTS["Respondent"]
    wait_time = between(5, 15)

    @task
    def answer_the_survey(self) -> None:
        self.client.cookies.clear()
        start = self.client.get(f"/s/{SURVEY_WAVE}/", name="/s/[wave]/ (start page)")
        token = CSRF.search(start.text or "")
        if not token:
            return
        answers = {**ANSWERS, "country_residence": random.choice(COUNTRIES)}
        page = self.client.post(
            f"/s/{SURVEY_WAVE}/",
            {"csrfmiddlewaretoken": token.group(1), "action": "start", "lang": random.choice(["kk", "ru", "en"])},
            name="/s/[wave]/ (start)",
        )
        for _ in range(MAX_PAGES):
            if "/done/" in page.url or page.status_code != 200:
                return
            number, csrf = PAGE.search(page.text or ""), CSRF.search(page.text or "")
            if not number or not csrf:
                return
            base = page.url.split("?")[0]
            posted = [("csrfmiddlewaretoken", csrf.group(1)), ("page", number.group(1))] + form_fields(answers)
            self.wait()  # the respondent reads and answers the page
            self.client.post(f"{base}save/", posted, name="/r/[token]/save/ (autosave)")
            action = "finish" if LAST.search(page.text) else "next"
            page = self.client.post(base, posted + [("action", action)], name=f"/r/[token]/ ({action})")


class Staff(HttpUser):
    """A programme administrator signed in, going through the staff and analysis pages (3-10 s on each)."""

    weight = WEIGHTS["Staff"]
    wait_time = between(3, 10)

    def on_start(self) -> None:
        accounts = _accounts()
        # Signed in already (a session made before the run, as a sign-in earlier that day would).
        self.client.cookies.set("sessionid", random.choice(accounts["sessions"]))
        self.account = random.choice(accounts["staff"])
        self.waves = STAFF_WAVES.split(",")

    @task(1)
    def sign_in_again(self) -> None:
        """Now and then a staff member signs out and in again (about one staff task in 130)."""
        if random.random() > 0.1:
            return
        self.client.cookies.clear()
        login = self.client.get("/accounts/login/", name="/accounts/login/")
        token = CSRF.search(login.text or "")
        username, password = self.account
        self.client.post(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token.group(1) if token else "", "username": username, "password": password},
            name="/accounts/login/ (sign in)",
        )

    def get(self, path: str, name: str) -> None:
        """A page that must be the page asked for: the sign-in page instead is a failure."""
        with self.client.get(path, name=name, catch_response=True) as reply:
            if "/accounts/login/" in reply.url:
                reply.failure("not signed in")

    @task(2)
    def wave_list(self) -> None:
        self.get("/staff/", name="/staff/")

    @task(3)
    def dashboard(self) -> None:
        self.get(f"/staff/waves/{random.choice(self.waves)}/", name="/staff/waves/[wave]/")

    @task(3)
    def question_summaries(self) -> None:
        wave = random.choice(self.waves)
        self.get(f"/staff/waves/{wave}/questions/", name="/staff/waves/[wave]/questions/")

    @task(1)
    def responses(self) -> None:
        self.get(f"/staff/waves/{random.choice(self.waves)}/responses/", name="/staff/waves/[wave]/responses/")

    @task(2)
    def analysis(self) -> None:
        self.get(f"/analytics/waves/{random.choice(self.waves)}/", name="/analytics/waves/[wave]/")

    @task(1)
    def monitoring(self) -> None:
        self.get(f"/analytics/monitoring/{random.choice(PILLARS)}/", name="/analytics/monitoring/[pillar]/")


class ApiClient(HttpUser):
    """A program reading through the API with a token (1-5 s between requests)."""

    weight = WEIGHTS["ApiClient"]
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {random.choice(_accounts()['api'])}"
        self.waves = STAFF_WAVES.split(",")

    @task(2)
    def waves_list(self) -> None:
        self.client.get("/api/v1/analytics/waves/", name="/api/v1/analytics/waves/")

    @task(3)
    def tables(self) -> None:
        wave = random.choice(self.waves)
        # A dashboard's client reads the whole-sample tables (every breakdown is 0.9 MB of JSON).
        self.client.get(
            f"/api/v1/analytics/waves/{wave}/tables/?breakdown=all&weighting=none",
            name="/api/v1/analytics/waves/[wave]/tables/",
        )

    @task(1)
    def wave_detail(self) -> None:
        self.client.get(f"/api/v1/waves/{random.choice(self.waves)}/", name="/api/v1/waves/[wave]/")

    @task(1)
    def monitoring(self) -> None:
        pillar = random.choice(PILLARS)
        self.client.get(f"/api/v1/analytics/monitoring/{pillar}/", name="/api/v1/analytics/monitoring/[pillar]/")


# --------------------------------------------------------------------------- the table by group

GROUPS = (("respondents", ("/s/", "/r/")), ("api", ("/api/",)), ("staff", ("/",)))


def group_of(name: str) -> str:
    """The group a request's name belongs to (answering, API reads, staff pages and sign-in)."""
    return next(group for group, prefixes in GROUPS if name.startswith(prefixes))


class GroupTimes:
    """Every response time (ms) and failure, per group, written as JSON when the run ends."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {group: [] for group, _ in GROUPS}
        self.failures: dict[str, int] = dict.fromkeys(self.times, 0)

    def record(self, name: str, response_time: float, failed: bool) -> None:
        group = group_of(name)
        self.times[group].append(response_time)
        self.failures[group] += failed

    def write(self, path: str) -> None:
        Path(path).write_text(json.dumps({"times": self.times, "failures": self.failures}))


_times = GroupTimes()


def _listen() -> None:
    from locust import events

    @events.request.add_listener
    def _on_request(name, response_time, exception, **_kwargs):
        _times.record(name, response_time, exception is not None)

    @events.quitting.add_listener
    def _on_quit(environment, **_kwargs):
        if os.environ.get("LOAD_GROUPS"):
            _times.write(os.environ["LOAD_GROUPS"])


_listen()
