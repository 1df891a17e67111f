"""docker-compose.yml cannot run here (no Docker engine): check that it is honest instead."""

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"web", "worker", "beat", "postgres", "redis"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_words(service):
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_it_defines_every_service_with_a_health_check(compose):
    assert set(compose["services"]) == SERVICES
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            assert source in declared, f"{name} mounts {source}, which is not a named volume"
    assert {"pgdata", "redisdata"} <= declared


def test_app_services_wait_for_healthy_dependencies(compose):
    for name in ("web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends == {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}


def test_the_web_command_points_at_a_real_wsgi_application(compose):
    words = command_words(compose["services"]["web"])
    script = " ".join(words)
    target = re.search(r"gunicorn (\S+):(\w+)", script)
    assert target, script
    module = importlib.import_module(target.group(1))
    assert callable(getattr(module, target.group(2)))
    assert (ROOT / "config" / "gunicorn.py").exists()
    for command in re.findall(r"manage\.py (\w+)", script):
        assert command in get_commands(), f"manage.py {command} does not exist"


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_commands_point_at_the_real_app(compose, name):
    words = command_words(compose["services"][name])
    assert words[:3] == ["celery", "-A", "config"]
    app = importlib.import_module("config").celery_app
    assert app.main == "kelu"
    assert words[3] == ("worker" if name == "worker" else "beat")


def test_the_worker_consumes_the_projects_queues(compose):
    words = command_words(compose["services"]["worker"])
    queues = words[words.index("--queues") + 1].split(",")
    assert set(queues) == set(settings.KELU_CELERY_QUEUES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE in queues


def test_every_environment_variable_is_read_by_the_settings(compose):
    settings_text = (ROOT / "config" / "settings.py").read_text()
    for name in compose["services"]["web"]["environment"]:
        assert f'"{name}"' in settings_text, f"{name} is set in compose but never read"


def test_the_image_is_built_from_the_repository(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile
    cmd = re.search(r'CMD \["gunicorn", "([\w.]+):(\w+)"', dockerfile)
    assert cmd and importlib.import_module(cmd.group(1))
