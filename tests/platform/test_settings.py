import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("Off", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_env_bool_rejects_anything_else(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
        env_bool("FLAG")


def test_env_int_names_the_bad_variable(monkeypatch):
    monkeypatch.setenv("WORKERS", "four")
    with pytest.raises(ImproperlyConfigured, match="WORKERS must be a whole number"):
        env_int("WORKERS", 2)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.kz, b.kz,,")
    assert env_list("HOSTS", []) == ["a.kz", "b.kz"]


def test_the_deploy_check_refuses_the_development_key(settings):
    from config.checks import check_secret_key

    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    assert [e.id for e in check_secret_key(None)] == ["kelu.E001"]
    settings.SECRET_KEY = "a-real-secret-" + "x" * 40
    assert check_secret_key(None) == []


def test_demo_data_refuses_to_load_outside_debug(settings, db):
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("load_demo")
