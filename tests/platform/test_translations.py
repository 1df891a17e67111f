"""The interface exists in kk, ru and en; CI fails when a message lacks a translation."""

from pathlib import Path

import pytest
from django.utils import translation

from surveys.answers import MESSAGES

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
    """Every entry of the .po has a translation, and the shipped .mo gives the same one."""
    entries = _po_entries(ROOT / "locale" / language / "LC_MESSAGES" / "django.po")
    assert entries
    with translation.override(language):
        for msgid, msgstr in entries.items():
            assert msgstr, f"{msgid!r} has no {language} translation"
            assert translation.gettext(msgid) == msgstr, f"django.mo is stale for {msgid!r}: run make messages"


def _po_entries(path):
    entries, key, current = {}, None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("msgid "):
            key, current = "id", [line[6:]]
        elif line.startswith("msgstr "):
            msgid, key, current = _unquote(current), "str", [line[7:]]
        elif line.startswith('"') and current is not None:
            current.append(line)
        elif not line.strip() and key == "str":
            if msgid:
                entries[msgid] = _unquote(current)
            key, current = None, None
    return entries


def _unquote(parts):
    return "".join(part.strip()[1:-1] for part in parts).encode().decode("unicode_escape").encode("latin-1").decode()
