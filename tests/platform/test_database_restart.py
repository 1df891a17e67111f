"""The database restarted under load: clean 503s while it is down, no partial writes, and
every request served again within seconds of its return.

The test never touches the shared PostgreSQL: it starts a throwaway server of its own
(initdb into a temporary folder, a free port), migrates it, serves the platform from it with
gunicorn (config/gunicorn.py), and sends a steady load (up to about 50 requests a second): survey
submissions through the API (the real submission path, one new instance_id each) and a
respondent's page. Mid-way the database is stopped at once (`pg_ctl stop -m immediate`, as a
crash or a fail-over does), kept down a few seconds, and started again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from surveys.samples import SAMPLE_GRADUATE_ANSWERS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUBMIT = "/api/v1/surveys/graduate-return/responses/"
PAGE = "/registry/"  # a respondent's home: the session, the user and their surveys are read
CLIENTS = 8
PACE = 0.1  # seconds between one client's requests: about 50 requests a second in all
DOWN_SECONDS = 4
RECOVERY_SECONDS = 10  # the anchor: back to normal within 10 s of the database's return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A PostgreSQL server of the test's own, in a temporary folder (never the shared one)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kelu-pg-"))
        self.port = _free_port()
        # initdb refuses to run as root: the server then runs as the postgres account.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, user="postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/kelu"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(PG_BIN / tool), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            return connection.execute(sql).fetchall()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


SETUP = """
import json
from importlib import import_module
from django.conf import settings
from rest_framework.authtoken.models import Token
from accounts.models import User
from surveys.demo import instruments_load
instruments_load()
clients = []
for n in range(%d):
    user = User.objects.create_user(username=f"load-{n}", password=None)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_hash": user.get_session_auth_hash(),
                    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend"})
    session.create()
    clients.append({"token": Token.objects.create(user=user).key, "session": session.session_key})
print(json.dumps(clients))
"""


@pytest.fixture
def own_postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"needs PostgreSQL's server programs in {PG_BIN}")
    server = Postgres()
    try:
        server.start()
        import psycopg

        with psycopg.connect(server.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE kelu")
        yield server
    finally:
        server.remove()


@pytest.fixture
def platform(own_postgres):
    """gunicorn serving the platform from the throwaway database; yields (address, clients)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_REPLICA_URL")}
    port = _free_port()
    env.update(
        DATABASE_URL=own_postgres.url,
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="restart-" + uuid.uuid4().hex * 2,
        DEBUG="false",
        SECURE_COOKIES="false",
        ALLOWED_HOSTS="127.0.0.1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="3",
        PYTHONPATH=str(ROOT),
    )
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    made = subprocess.run(
        [python, "manage.py", "shell", "-c", SETUP % CLIENTS],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    clients = json.loads(made.stdout.strip().splitlines()[-1])
    log = open(own_postgres.folder / "gunicorn.log", "w")  # noqa: SIM115  (closed below)
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _get(address + "/healthz")[0] == 200, seconds=30)
        yield address, clients
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, str]:
    return _send(urllib.request.Request(url, headers=headers or {}))


def _send(request: urllib.request.Request) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()
    except OSError as error:  # the server itself did not answer: recorded as 0
        return 0, {}, repr(error)


@dataclass
class Answer:
    at: float
    kind: str  # "submit" or "page"
    status: int
    headers: dict
    body: str
    instance_id: str = ""


def _load(address: str, client: dict, until: float, answers: list[Answer], lock: threading.Lock) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        if n % 3:
            instance_id = str(uuid.uuid4())
            payload = {
                "instance_id": instance_id,
                "version": 1,
                "status": "complete",
                "answers": SAMPLE_GRADUATE_ANSWERS,
            }
            request = urllib.request.Request(
                address + SUBMIT,
                data=json.dumps(payload).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Token {client['token']}"},
            )
            status, headers, body = _send(request)
            answer = Answer(time.monotonic(), "submit", status, headers, body, instance_id)
        else:
            status, headers, body = _get(address + PAGE, {"Cookie": f"sessionid={client['session']}"})
            answer = Answer(time.monotonic(), "page", status, headers, body)
        with lock:
            answers.append(answer)
        time.sleep(PACE)


def test_a_database_restart_under_load_answers_503_loses_nothing_and_recovers(own_postgres, platform):
    address, clients = platform
    answers: list[Answer] = []
    lock = threading.Lock()
    start = time.monotonic()
    until = start + 3 + DOWN_SECONDS + RECOVERY_SECONDS + 3
    threads = [threading.Thread(target=_load, args=(address, c, until, answers, lock)) for c in clients]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        own_postgres.stop()
        stopped = time.monotonic()
        time.sleep(DOWN_SECONDS)
        health = _get(address + "/healthz")
        own_postgres.start()
        back = time.monotonic()
    finally:
        for thread in threads:
            thread.join(timeout=60)

    failing = [a.at for a in answers if a.status not in (200, 201, 302)]
    print(  # shown with -s: the figures of this run
        f"{len(answers)} requests in {until - start:.0f} s, {len(failing)} answered 503; "
        f"last 503 {max(failing, default=back) - back:+.2f} s after the database's return"
    )

    # While it was down: the health check says so, and the load was answered 503, cleanly.
    assert health[0] == 503 and json.loads(health[2])["database"].startswith("error"), health
    assert {a.status for a in answers} <= {200, 201, 302, 503}, sorted({a.status for a in answers})
    outage = [a for a in answers if a.status == 503]
    assert any(stopped < a.at < back for a in outage), "the load never met the stopped database"
    for a in outage:
        assert a.headers.get("Retry-After") and "Traceback" not in a.body and 'File "' not in a.body, a.body
        if a.kind == "submit":
            assert json.loads(a.body) == {"detail": "The service is temporarily unavailable; try again shortly."}
        else:
            assert "<h1>" in a.body and "DATABASE" not in a.body and "SECRET" not in a.body, a.body
    assert {a.kind for a in outage} == {"submit", "page"}

    # Back to normal within RECOVERY_SECONDS of the database's return, and it stays so.
    late = [a for a in answers if a.at > back + RECOVERY_SECONDS]
    assert len(late) > 20 and all(a.status in (200, 201, 302) for a in late), [a.status for a in late]
    assert {a.kind for a in late} == {"submit", "page"}

    # No partial writes: every stored response holds all its answers; every acknowledged one is stored.
    stored = dict(
        own_postgres.query(
            "SELECT instance_id::text, answers FROM surveys_response WHERE status = 'complete' "
            "AND submitted_at IS NOT NULL AND content_hash <> ''"
        )
    )
    total = own_postgres.query("SELECT count(*) FROM surveys_response")[0][0]
    assert total == len(stored)
    acknowledged = {a.instance_id for a in answers if a.kind == "submit" and a.status == 201}
    assert acknowledged <= set(stored), len(acknowledged - set(stored))
    expected = next(json.loads(a.body)["answers"] for a in answers if a.status == 201)
    assert all(answers == expected for answers in stored.values())
