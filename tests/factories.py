"""factory_boy factories and an in-memory XLSForm builder for tests."""

from __future__ import annotations

import io
from typing import Any

import factory
from openpyxl import Workbook

from accounts.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = Role.RESPONDENT
    password = factory.django.Password("correct horse battery staple")


def xlsform(
    survey: list[dict[str, Any]],
    choices: list[dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> bytes:
    """An .xlsx workbook with the given rows; columns are the union of the rows' keys."""
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "survey", survey)
    if choices is not None:
        _sheet(book, "choices", choices)
    if settings is not None:
        _sheet(book, "settings", [settings])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(book: Workbook, name: str, rows: list[dict[str, Any]]) -> None:
    sheet = book.create_sheet(name)
    headers = list(dict.fromkeys(key for row in rows for key in row))
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])


def simple_form_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A small valid bilingual form used across tests."""
    en, ru = "label::English (en)", "label::Русский (ru)"
    survey = [
        {"type": "begin_group", "name": "about", en: "About you", ru: "О вас"},
        {
            "type": "integer",
            "name": "age",
            en: "Age",
            ru: "Возраст",
            "required": "yes",
            "constraint": ". >= 16 and . <= 99",
            "constraint_message::English (en)": "Between 16 and 99",
            "constraint_message::Русский (ru)": "От 16 до 99",
        },
        {
            "type": "select_one yes_no",
            "name": "abroad",
            en: "Do you live abroad?",
            ru: "Живёте за рубежом?",
            "required": "yes",
        },
        {"type": "text", "name": "city", en: "City", ru: "Город", "relevant": "${abroad} = 'yes'", "required": "yes"},
        {"type": "end_group"},
    ]
    choices = [
        {"list_name": "yes_no", "name": "yes", en: "Yes", ru: "Да"},
        {"list_name": "yes_no", "name": "no", en: "No", ru: "Нет"},
    ]
    return survey, choices
