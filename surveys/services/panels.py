"""Panel imports: respondents from a CSV or XLSX file into a panel, with a per-row report.

Reading and checking rows is pure (``panel_rows_read``, ``panel_rows_check``); the
service then writes everything in bulk inside one transaction, so an upload of tens of
thousands of rows costs a handful of queries per thousand rows, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from accounts.models import User
from config.tables import TableError, rows_read

from ..models import Panel, PanelImport, PanelMember, Respondent

BATCH = 1000
LANGUAGES = ("kk", "ru", "en")
# Spellings of a language that clearly mean one of ours; anything else is reported.
LANGUAGE_ALIASES = {
    "kk": "kk",
    "kaz": "kk",
    "kazakh": "kk",
    "қазақша": "kk",
    "қазақ": "kk",
    "қазақ тілі": "kk",
    "казахский": "kk",
    "ru": "ru",
    "rus": "ru",
    "russian": "ru",
    "русский": "ru",
    "орысша": "ru",
    "en": "en",
    "eng": "en",
    "english": "en",
    "английский": "en",
    "ағылшынша": "en",
}
RESERVED = {"email", "language", "name"}
ID_PREFIX = "id:"


class PanelImportError(ValueError):
    """The file as a whole cannot be imported (type, encoding, missing column); nothing is written."""


@dataclass
class PanelRow:
    row: int
    email: str
    name: str = ""
    language: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- pure: reading


def language_code(raw: str) -> str | None:
    """'Қазақша', 'ru-RU', 'EN' -> a code of ours; None when it is not clearly one of them."""
    text = " ".join(raw.strip().lower().replace("_", "-").split())
    if text in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[text]
    primary, sep, _region = text.partition("-")
    if sep and primary in LANGUAGES:
        return primary
    return None


def panel_rows_read(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and (spreadsheet row number, cells) of the first sheet of a .csv or .xlsx file."""
    try:
        return rows_read(data, filename, first_row="the first row must name the columns (at least 'email')")
    except TableError as error:
        raise PanelImportError(str(error)) from None


# --------------------------------------------------------------------------- pure: checking


@dataclass
class CheckedRows:
    valid: list[PanelRow]
    report: list[dict[str, Any]]


def _columns(headers: list[str]) -> dict[int, str]:
    """Column index -> normalised header; refuses a file without email or with repeated headers."""
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for index, header in enumerate(headers):
        key = header.strip().lower()
        if not key:
            continue
        if key.startswith(ID_PREFIX):
            key = ID_PREFIX + key[len(ID_PREFIX) :].strip()
        if key in seen:
            raise PanelImportError(f"The column '{header}' appears twice.")
        seen.add(key)
        columns[index] = key
    if "email" not in seen:
        raise PanelImportError("The file has no 'email' column (the first row must name the columns).")
    if ID_PREFIX in seen:
        raise PanelImportError("A column 'id:' needs a system name, e.g. 'id:bolashak'.")
    return columns


def panel_rows_check(headers: list[str], rows: list[tuple[int, list[str]]]) -> CheckedRows:
    """Valid rows, and a report entry for every row that is skipped or ignored."""
    columns = _columns(headers)
    valid: list[PanelRow] = []
    report: list[dict[str, Any]] = []
    first_row: dict[str, int] = {}
    for number, cells in rows:
        values = {key: (cells[i] if i < len(cells) else "") for i, key in columns.items()}
        if not any(values.values()):
            report.append({"row": number, "status": "ignored", "reason": "empty row"})
            continue
        email = values["email"]
        try:
            validate_email(email)
        except ValidationError:
            report.append({"row": number, "email": email, "status": "skipped", "reason": "bad email"})
            continue
        language = None
        if values.get("language"):
            language = language_code(values["language"])
            if language is None:
                reason = f"unknown language '{values['language']}'"
                report.append({"row": number, "email": email, "status": "skipped", "reason": reason})
                continue
        key = email.lower()
        if key in first_row:
            reason = f"duplicate in file (first at row {first_row[key]})"
            report.append({"row": number, "email": email, "status": "skipped", "reason": reason})
            continue
        first_row[key] = number
        valid.append(
            PanelRow(
                row=number,
                email=email,
                name=values.get("name", ""),
                language=language,
                external_ids={k[len(ID_PREFIX) :]: v for k, v in values.items() if k.startswith(ID_PREFIX) and v},
                attributes={k: v for k, v in values.items() if k not in RESERVED and not k.startswith(ID_PREFIX)},
            )
        )
    return CheckedRows(valid, report)


# --------------------------------------------------------------------------- the service


def panel_import(*, panel: Panel, data: bytes, filename: str, user: User | None) -> PanelImport:
    """Add or update the file's respondents in `panel`; raises PanelImportError before writing anything."""
    headers, rows = panel_rows_read(data, filename)
    checked = panel_rows_check(headers, rows)
    with transaction.atomic():
        respondents = _respondents_upsert(checked.valid)
        added, updated = _members_upsert(panel, checked.valid, respondents)
        updated_rows = {row.row for row in checked.valid if row.email.lower() in updated}
        report = checked.report + [
            {"row": r.row, "email": r.email, "status": "updated", "reason": "already a member: details updated"}
            for r in checked.valid
            if r.row in updated_rows
        ]
        report.sort(key=lambda entry: entry["row"])
        return PanelImport.objects.create(
            panel=panel,
            filename=filename[:255],
            created_by=user,
            added=added,
            updated=len(updated),
            skipped=sum(1 for entry in checked.report if entry["status"] == "skipped"),
            report=report,
        )


def _respondents_by_email(emails: list[str]) -> dict[str, Respondent]:
    found: dict[str, Respondent] = {}
    for start in range(0, len(emails), BATCH):
        chunk = emails[start : start + BATCH]
        for respondent in Respondent.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            found[respondent.email.lower()] = respondent
    return found


def _respondents_upsert(rows: list[PanelRow]) -> dict[str, Respondent]:
    """Respondents for the rows, by lower-case email: existing ones reused as they are, others created.

    A respondent is shared by every programme's panels, so an import never changes one
    (what this panel holds about them is written on its membership)."""
    emails = [row.email.lower() for row in rows]
    existing = _respondents_by_email(emails)
    new = [Respondent(email=row.email) for row in rows if row.email.lower() not in existing]
    # ignore_conflicts: a concurrent import may create the same address between our
    # read and this insert; the unique lower(email) constraint keeps one row, and the
    # re-read below picks up whichever row won.
    Respondent.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    return _respondents_by_email(emails) if new else existing


def _members_upsert(panel: Panel, rows: list[PanelRow], respondents: dict[str, Respondent]) -> tuple[int, set[str]]:
    """Create missing memberships, update the fields of existing ones; (added, emails updated)."""
    ids = {email: r.pk for email, r in respondents.items()}
    members: dict[int, PanelMember] = {}
    id_list = list(ids.values())
    for start in range(0, len(id_list), BATCH):
        for member in PanelMember.objects.filter(panel=panel, respondent_id__in=id_list[start : start + BATCH]):
            members[member.respondent_id] = member
    new, changed, updated = [], [], set()
    for row in rows:
        respondent_id = ids[row.email.lower()]
        member = members.get(respondent_id)
        if member is None:
            new.append(
                PanelMember(
                    panel=panel,
                    respondent_id=respondent_id,
                    name=row.name,
                    language=row.language or "kk",
                    external_ids=row.external_ids,
                    attributes=row.attributes,
                )
            )
            continue
        updated.add(row.email.lower())
        before = (member.name, member.language, dict(member.external_ids), dict(member.attributes))
        member.name = row.name or member.name
        member.language = row.language or member.language
        member.external_ids = {**member.external_ids, **row.external_ids}
        member.attributes = {**member.attributes, **row.attributes}
        if before != (member.name, member.language, member.external_ids, member.attributes):
            changed.append(member)
    # A concurrent import of the same person into the same panel: the unique
    # (panel, respondent) constraint keeps one membership, and neither import fails.
    PanelMember.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
    PanelMember.objects.bulk_update(changed, ["name", "language", "external_ids", "attributes"], batch_size=BATCH)
    return len(new), updated
