"""Imports of a programme's own lists: participants, and employment records (episodes).

Both read .csv (UTF-8 or Windows-1251) or .xlsx through ``config.tables``, check every row,
and write nothing when any row is bad: the stored ``ObligationImport`` report names each bad
row and why. A good file is applied in one transaction; importing it again changes nothing.

Participants are linked to registry people and survey respondents by the programme's external
id (a panel membership carrying it), then by e-mail; several candidates are listed on the
participation for an administrator to choose, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import Programme, User
from config.tables import TableError, rows_read
from surveys.models import PanelMember, Respondent

from ..models import Person
from ..models.obligations import Episode, ObligationImport, Participation
from ..vocabularies.fields import check_field_or_broad
from .obligations import ObligationError, episode_values, obligations_recompute, parse_date, rule_for
from .registry import _country

PARTICIPANT_COLUMNS = {
    "external_id": ("external_id", "id", "programme_id", "scholar_id"),
    "full_name": ("full_name", "name", "fio"),
    "email": ("email", "e_mail", "mail"),
    "cohort": ("cohort", "award_year", "year"),
    "graduation_date": ("graduation_date", "graduated", "graduation"),
    "obligation_start": ("obligation_start", "start"),
    "host_country": ("host_country", "country"),
    "host_institution": ("host_institution", "institution", "university"),
    "field_of_study": ("field_of_study", "field", "isced"),
}
PARTICIPANT_REQUIRED = ("external_id", "full_name", "cohort", "graduation_date")
EPISODE_COLUMNS = {
    "external_id": ("external_id", "id", "programme_id", "scholar_id"),
    "kind": ("kind", "type"),
    "start": ("start", "start_date", "from"),
    "end": ("end", "end_date", "to", "until"),
    "country": ("country",),
    "region": ("region", "oblast"),
    "employer": ("employer", "organisation", "organization"),
    "occupation": ("occupation", "isco"),
    "specialty_related": ("specialty_related", "in_specialty", "related"),
    "source": ("source",),
}
EPISODE_REQUIRED = ("external_id", "start", "country")
IMPORT_SOURCES = (Episode.Source.ADMINISTRATIVE, Episode.Source.EMPLOYER)


class ImportRefused(ValueError):
    """The file as a whole cannot be used (unreadable, or a required column is missing)."""


def _normalise(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").replace(".", " ").split())


def _columns(headers: list[str], known: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> dict[str, int]:
    where: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _normalise(header)
        for column, aliases in known.items():
            if name in aliases:
                if column in where:
                    raise ImportRefused(f"Two columns are '{column}' ({headers[where[column]]!r} and {header!r}).")
                where[column] = index
    missing = [column for column in required if column not in where]
    if missing:
        raise ImportRefused(
            f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            f"The columns are: {', '.join(known)} (the first row names them)."
        )
    return where


def _opened(data: bytes, filename: str, known, required, nothing: str) -> tuple[dict[str, int], list]:
    """The file's columns and rows (ImportRefused when it cannot be read, lacks a column or is empty)."""
    try:
        headers, rows = rows_read(data, filename)
    except TableError as error:
        raise ImportRefused(str(error)) from None
    where = _columns(headers, known, required)
    if not rows:
        raise ImportRefused(nothing)
    return where, rows


def _row(cells: list[str], where: dict[str, int]) -> dict[str, str]:
    return {column: (cells[index].strip() if index < len(cells) else "") for column, index in where.items()}


@dataclass
class Outcome:
    report: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0

    def error(self, row: int, reason: str) -> None:
        self.report.append({"row": row, "status": "error", "reason": reason})
        self.errors += 1


def _refused(record: ObligationImport, message: str) -> ObligationImport:
    record.applied = False
    record.errors = 1
    record.report = [{"row": 0, "status": "error", "reason": message}]
    record.save()
    return record


# --------------------------------------------------------------------------- participants


def _participant(values: dict[str, str], programme: Programme, rules: dict[int, Any]) -> dict[str, Any]:
    """Checked participation fields, or ObligationError naming the first problem."""
    external_id = values["external_id"]
    if not external_id:
        raise ObligationError("external_id: empty.")
    if len(external_id) > 64:
        raise ObligationError("external_id: longer than 64 characters.")
    if not values["full_name"]:
        raise ObligationError("full_name: empty.")
    email = values.get("email", "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ObligationError(f"email: {email!r} is not an e-mail address.") from None
    try:
        cohort = int(values["cohort"])
    except ValueError:
        raise ObligationError(f"cohort: {values['cohort']!r} is not a year.") from None
    if not 1990 <= cohort <= timezone.localdate().year + 1:
        raise ObligationError(f"cohort: {cohort} is not a plausible award year.")
    if cohort not in rules:
        rules[cohort] = rule_for(programme, cohort)
    if rules[cohort] is None:
        raise ObligationError(f"cohort: no obligation rule of {programme.name} covers cohort {cohort}.")
    graduation = parse_date(values["graduation_date"], "graduation_date")
    if graduation is None:
        raise ObligationError("graduation_date: empty.")
    latest = dt.date(timezone.localdate().year + 10, 12, 31)
    if not dt.date(1990, 1, 1) <= graduation <= latest:
        raise ObligationError(f"graduation_date: {graduation.isoformat()} is not between 1990 and {latest.year}.")
    start = parse_date(values.get("obligation_start", ""), "obligation_start") or graduation
    if start < graduation - dt.timedelta(days=366 * 2):
        raise ObligationError(f"obligation_start: {start.isoformat()} is long before graduation.")
    if start > latest:
        raise ObligationError(f"obligation_start: {start.isoformat()} is after {latest.year}.")
    country = values.get("host_country", "")
    if country:
        try:
            country = _country(country)
        except ValueError as error:
            raise ObligationError(f"host_country: {error}") from None
    field_code = values.get("field_of_study", "")
    if field_code:
        try:
            field_code = check_field_or_broad(field_code)
        except ValueError as error:
            raise ObligationError(f"field_of_study: {error}") from None
    return {
        "external_id": external_id, "full_name": values["full_name"][:200], "email": email, "cohort": cohort,
        "rule": rules[cohort], "graduation_date": graduation, "obligation_start": start, "host_country": country,
        "host_institution": values.get("host_institution", "")[:200], "field_of_study": field_code,
    }  # fmt: skip


def participants_import(*, programme: Programme, data: bytes, filename: str, user: User | None) -> ObligationImport:
    """Create or update the participations listed in the file (all rows, or none)."""
    record = ObligationImport(programme=programme, kind=ObligationImport.Kind.PARTICIPANTS, filename=filename,
                              created_by=user)  # fmt: skip
    try:
        where, rows = _opened(data, filename, PARTICIPANT_COLUMNS, PARTICIPANT_REQUIRED,
                              "The file has a header row but no participants.")  # fmt: skip
    except ImportRefused as error:
        return _refused(record, str(error))
    outcome, checked, seen, rules = Outcome(), [], {}, {}
    for number, cells in rows:
        if not any(cells):
            continue
        try:
            values = _participant(_row(cells, where), programme, rules)
        except ObligationError as error:
            outcome.error(number, str(error))
            continue
        if values["external_id"] in seen:
            outcome.error(
                number, f"external_id: {values['external_id']!r} is also on row {seen[values['external_id']]}."
            )
            continue
        seen[values["external_id"]] = number
        checked.append((number, values))
    if outcome.errors:
        record.errors = outcome.errors
        record.report = outcome.report
        record.save()
        return record
    existing = {p.external_id: p for p in Participation.objects.filter(programme=programme, external_id__in=list(seen))}
    touched = []
    with transaction.atomic():
        for number, values in checked:
            current = existing.get(values["external_id"])
            if current is None:
                participation = Participation.objects.create(programme=programme, **values)
                outcome.report.append({"row": number, "status": "added", "external_id": values["external_id"]})
                record.added += 1
                touched.append(participation)
                continue
            changed = [name for name, value in values.items() if getattr(current, name) != value]
            if not changed:
                outcome.report.append({"row": number, "status": "unchanged", "external_id": values["external_id"]})
                record.unchanged += 1
                continue
            for name in changed:
                setattr(current, name, values[name])
            current.save()
            outcome.report.append({"row": number, "status": "updated", "external_id": values["external_id"],
                                   "fields": changed})  # fmt: skip
            record.updated += 1
            touched.append(current)
        links = participations_link(touched)
        for entry in outcome.report:
            note = links.get(entry.get("external_id"))
            if note:
                entry["link"] = note
        record.applied = True
        record.report = outcome.report
        record.save()
        if touched:
            obligations_recompute(Participation.objects.filter(pk__in=[p.pk for p in touched]))
    return record


def participations_link(participations: list[Participation]) -> dict[str, str]:
    """Link each participation to its registry person and respondent: by the programme's external id
    (on a panel membership of one of the programme's panels), then by e-mail among the programme's
    panel members and the registry members who list the programme. Several candidates: listed on
    the participation, none chosen. Returns a note per external id."""
    notes: dict[str, str] = {}
    for participation in participations:
        programme = participation.programme
        by_id = list(
            Respondent.objects.filter(
                pk__in=PanelMember.objects.filter(
                    panel__programme=programme, **{f"external_ids__{programme.slug}": participation.external_id}
                ).values("respondent_id")
            )
        )
        # Only people already known to this programme: members of its panels, registry members who
        # list it. Another programme's respondents and people are never reached by an import.
        respondents, how = by_id, "external id"
        if not respondents and participation.email:
            respondents = list(
                Respondent.objects.filter(
                    email__iexact=participation.email, memberships__panel__programme=programme
                ).distinct()
            )
            how = "e-mail"
        mine = Person.objects.filter(programmes=programme)
        people = list(mine.filter(user_id__in={r.user_id for r in respondents if r.user_id}))
        if not people and participation.email:
            people = list(mine.filter(user__email__iexact=participation.email))
            how = how if respondents else "e-mail"
        candidates = []
        if len(respondents) > 1:
            candidates += [{"kind": "respondent", "id": r.pk, "label": r.email} for r in respondents]
        if len(people) > 1:
            candidates += [{"kind": "person", "id": p.pk, "label": p.display_name} for p in people]
        changed = False
        if len(respondents) == 1 and participation.respondent_id != respondents[0].pk:
            participation.respondent = respondents[0]
            changed = True
        if len(people) == 1 and participation.person_id != people[0].pk:
            participation.person = people[0]
            changed = True
        if candidates != participation.link_candidates:
            participation.link_candidates = candidates
            changed = True
        if changed:
            participation.save(update_fields=["respondent", "person", "link_candidates"])
        if candidates:
            notes[participation.external_id] = f"several matches by {how}: an administrator chooses"
        elif participation.person_id or participation.respondent_id:
            notes[participation.external_id] = f"linked by {how}"
    return notes


# --------------------------------------------------------------------------- employment records


def _key(values: dict[str, Any]) -> tuple:
    return tuple(values[k] for k in ("kind", "start", "end", "country", "region", "employer", "source"))


def _overlap(a_start, a_end, b_start, b_end) -> bool:
    far = dt.date.max
    return a_start <= (b_end or far) and b_start <= (a_end or far)


def episodes_import(*, programme: Programme, data: bytes, filename: str, user: User | None) -> ObligationImport:
    """Add the employment records in the file to the programme's participants (all rows, or none).

    A record overlapping another of the same person in a different country (in the file or
    already stored) is contradictory: it is added, flagged on the episode and in the report,
    and not merged with the other. A record already stored is left as it is.
    """
    record = ObligationImport(programme=programme, kind=ObligationImport.Kind.EPISODES, filename=filename,
                              created_by=user)  # fmt: skip
    try:
        where, rows = _opened(
            data, filename, EPISODE_COLUMNS, EPISODE_REQUIRED, "The file has a header row but no records."
        )
    except ImportRefused as error:
        return _refused(record, str(error))
    participations = {
        p.external_id: p
        for p in Participation.objects.filter(
            programme=programme, external_id__in=list({_row(c, where)["external_id"] for _, c in rows})
        )
    }
    outcome, checked, seen = Outcome(), [], {}
    for number, cells in rows:
        if not any(cells):
            continue
        raw = _row(cells, where)
        participation = participations.get(raw["external_id"])
        if participation is None:
            outcome.error(number, f"external_id: no participant {raw['external_id']!r} in {programme.name}.")
            continue
        source = (raw.get("source") or Episode.Source.ADMINISTRATIVE).strip().lower()
        if source not in IMPORT_SOURCES:
            outcome.error(number, f"source: {source!r}; imported records are {' or '.join(IMPORT_SOURCES)}.")
            continue
        try:
            values = episode_values({
                **raw, "kind": raw.get("kind") or Episode.Kind.EMPLOYMENT,
                "start": raw["start"], "end": raw.get("end", ""),
            })  # fmt: skip
        except ObligationError as error:
            outcome.error(number, str(error))
            continue
        values["source"] = source
        key = (participation.pk, _key(values))
        if key in seen:
            outcome.report.append(
                {"row": number, "status": "duplicate", "reason": f"the same record as row {seen[key]}"}
            )
            continue
        seen[key] = number
        checked.append((number, participation, values))
    if outcome.errors:
        record.errors = outcome.errors
        record.report = outcome.report
        record.save()
        return record
    stored: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in Episode.objects.filter(participation__in={p.pk for _, p, _ in checked}).values(
        "participation_id", "kind", "start", "end", "country", "region", "employer", "source"
    ):
        stored[row["participation_id"]].append(row)
    touched = set()
    with transaction.atomic():
        for number, participation, values in checked:
            mine = stored[participation.pk]
            if any(_key(row) == _key(values) for row in mine):
                outcome.report.append({"row": number, "status": "unchanged", "reason": "already stored"})
                record.unchanged += 1
                continue
            others = [
                row for row in mine
                if row["country"] != values["country"] and _overlap(row["start"], row["end"], values["start"], values["end"])
            ]  # fmt: skip
            conflict = ""
            if others:
                other = others[0]
                conflict = (
                    f"overlaps a {other['kind']} record in {other['country']} from {other['start'].isoformat()}"
                    f" to {other['end'].isoformat() if other['end'] else 'now'}"
                )
                record.flagged += 1
            Episode.objects.create(participation=participation, created_by=user, conflict=conflict[:300], **values)
            mine.append(values | {"participation_id": participation.pk})
            touched.add(participation.pk)
            entry = {
                "row": number,
                "status": "flagged" if conflict else "added",
                "external_id": participation.external_id,
            }
            if conflict:
                entry["reason"] = conflict
            outcome.report.append(entry)
            record.added += 1
        record.applied = True
        record.report = sorted(outcome.report, key=lambda entry: entry["row"])
        record.save()
        if touched:
            obligations_recompute(Participation.objects.filter(pk__in=touched))
    return record


__all__ = ["episodes_import", "participants_import", "participations_link"]
