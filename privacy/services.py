"""The rights of the people in the data: everything held about a person, and its erasure.

``held_about`` gathers what the platform holds about one account, from every app, as plain
JSON-ready data: the data page, its JSON download and the API all read it. ``erase`` removes
the person from every store in one transaction (files, frames and index copies follow once it
commits) and keeps only what a legal obligation requires (``RETAINED``); the data page, the
``erase_person`` command and any later path all call it.

What counts as "every store": the database rows of every app; the files written from them
(survey exports, research export zips, analysis frames, obligation documents and evidence);
webhook deliveries waiting to be sent; outgoing mail not yet handed to the mail server (its
rows go with the invitations); sessions, API tokens and sign-in lockout records; and every
process's matching index (``diaspora.services.matching`` rebuilds after an erasure).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model, Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent, Role, User

from .models import ErasureRecord

logger = logging.getLogger(__name__)

# Never shown, not even to the person: they open nothing by themselves and would only help someone
# holding a copy of the download.
SECRET_FIELDS = {"password", "token_hash", "token_nonce", "resume_token_hash", "content_hash", "computed_hash"}

# Obligations that are not over: the programme must still be able to enforce them.
OPEN_OBLIGATIONS = ("pending_return", "in_service", "breached", "deferred")

RETAINED = [
    {
        "what": _(
            "A programme's record of a work obligation that is not over (pending return, in service, "
            "breached or deferred): the programme's id for you, your name and address as the programme "
            "gave them, the periods of work and the documents that prove them."
        ),  # fmt: skip
        "why": _(
            "The scholarship contract obliges the programme to check the work obligation and to reclaim "
            "the grant if it is not met; these records are its evidence. They are no longer linked to "
            "your account, and are anonymised once the obligation is over."
        ),  # fmt: skip
    },
    {
        "what": _(
            "The security log: the times of sign-ins and of actions on records, with the account number "
            "and network address, but no name; for staff searches, the words searched for."
        ),  # fmt: skip
        "why": _(
            "The law on personal data requires a record of who accessed personal data, so that a breach "
            "can be investigated and reported; the log cannot be changed, by design."
        ),  # fmt: skip
    },
    {
        "what": _("Statistics already computed from many answers (tables with small groups suppressed)."),
        "why": _("They describe groups, not you; they are recomputed without your answers."),
    },
]


class ErasureRefused(Exception):
    pass


# --------------------------------------------------------------------------- what is held


def _value(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name.rsplit("/", 1)[-1] if value else ""
    return value


def _fields(obj: Model, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """An object's own values (not its links to other rows, not secrets), by field name."""
    skipped = SECRET_FIELDS | set(skip)
    return {
        field.name: _value(getattr(obj, field.name))
        for field in obj._meta.concrete_fields
        if not field.is_relation and field.name not in skipped and not field.primary_key
    }


def _responses_of(user: User):
    from surveys.models import Response

    return Response.objects.filter(Q(respondent=user) | Q(invitation__respondent__user=user)).distinct()


def held_about(user: User) -> dict[str, Any]:
    """Everything the platform holds about this account's person, by kind (JSON-ready)."""
    from accounts.names import shown_name
    from diaspora.models import Message, Person
    from diaspora.selectors_obligations import participations_own
    from surveys.models import Respondent

    person = Person.objects.filter(user=user).first()
    data: dict[str, Any] = {
        "generated_at": timezone.now(),
        "account": {
            **_fields(user, skip=("is_staff", "is_superuser")),
            "programmes_administered": [p.name for p in user.programmes.all()],
            "api_tokens": [{"created": token.created} for token in _tokens(user)],
        },
        "registry_profile": None,
        "messages": [],
        "survey_addresses": [],
        "survey_responses": [],
        "programme_participation": [],
        "activity_log": [],
        "kept_after_erasure": [{"what": str(item["what"]), "why": str(item["why"])} for item in RETAINED],
    }
    if person is not None:
        data["registry_profile"] = {
            **_fields(person),
            "programmes": [p.name for p in person.programmes.all()],
            "affiliations": [i.name for i in person.affiliations.all()],
            "offers": [_fields(offer) for offer in person.offers.all()],
            "consents": [_fields(consent) for consent in person.consents.all()],
            "matches": [
                {
                    "request": match.request.title,
                    "institution": match.request.institution.name if match.request.institution_id else "",
                    **_fields(match, skip=("components", "weights", "details", "score", "rank", "load")),
                }
                for match in person.matches.select_related("request__institution")
            ],
        }
    for message in Message.objects.filter(Q(sender=user) | Q(recipient=user)).select_related("sender", "recipient"):
        sent = message.sender_id == user.pk
        data["messages"].append(
            {
                "direction": "sent" if sent else "received",
                "other": shown_name(message.recipient if sent else message.sender),
                **_fields(message),
            }
        )
    for respondent in Respondent.objects.filter(user=user).prefetch_related("memberships__panel", "invitations__wave"):
        data["survey_addresses"].append(
            {
                **_fields(respondent),
                "panels": [{"panel": m.panel.name, **_fields(m)} for m in respondent.memberships.all()],
                "invitations": [
                    {"wave": i.wave.name, **_fields(i, skip=("created_at",))} for i in respondent.invitations.all()
                ],
            }
        )
    for response in _responses_of(user).select_related("survey", "wave").order_by("created_at"):
        data["survey_responses"].append(
            {
                "survey": response.survey.title,
                "wave": response.wave.name if response.wave_id else "",
                **_fields(response, skip=("last_page",)),
            }
        )
    for participation in participations_own(user).prefetch_related("episodes", "pauses", "history"):
        data["programme_participation"].append(
            {
                "programme": participation.programme.name,
                **_fields(participation, skip=("explanation", "risks", "link_candidates")),
                "episodes": [_fields(e) for e in participation.episodes.all()],
                "pauses": [_fields(p) for p in participation.pauses.all()],
                "history": [_fields(h, skip=("explanation",)) for h in participation.history.all()],
            }
        )
    targets = [f"accounts.User:{user.pk}"] + ([f"diaspora.Person:{person.pk}"] if person else [])
    events = AuditEvent.objects.filter(Q(actor=user) | Q(target__in=targets)).order_by("-at", "-id")[:500]
    data["activity_log"] = [
        # Another's address (a member of staff who opened a record) is theirs, not the person's.
        {
            "at": e.at,
            "action": e.action,
            "by_you": e.actor_id == user.pk,
            "address": e.detail.get("address", "") if e.actor_id == user.pk else "",
        }  # fmt: skip
        for e in events
    ]
    return data


def _tokens(user: User):
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user=user)


def invitations_stop(*, user: User) -> int:
    """Withdraw from survey invitations: every address linked to this account opts out."""
    from surveys.models import Respondent
    from surveys.services.invitations import respondent_opt_out

    return sum(
        respondent_opt_out(respondent_id=pk) for pk in Respondent.objects.filter(user=user).values_list("pk", flat=True)
    )


# --------------------------------------------------------------------------- erasure


def can_erase_self(user: User) -> bool:
    """Respondents (graduates, diaspora members) erase themselves; staff accounts are closed by a
    superuser, because what they did is part of the programme's own records."""
    return user.is_authenticated and user.role == Role.RESPONDENT and not (user.is_staff or user.is_superuser)


def erase(*, user: User, actor: User | None, reason: str = "") -> ErasureRecord:
    """Remove this account's person from every store; keep only what ``RETAINED`` names.

    ``actor`` None: the person themselves. Refused for staff accounts and for the last superuser.
    """
    from accounts.audit import audit_record
    from diaspora.models import (
        Consent,
        EmployerConfirmation,
        Episode,
        Message,
        ObligationImport,
        ObligationPause,
        Participation,
        Person,
        StatusChange,
    )
    from surveys.models import ExportJob, PanelImport, Respondent, WebhookDelivery

    if user.role != Role.RESPONDENT or user.is_staff or user.is_superuser:
        raise ErasureRefused(
            _(
                "Staff accounts are not erased this way: remove the account's role and rights first, so that the "
                "programme's records of what it did stay whole."
            )  # fmt: skip
        )
    removed: dict[str, int] = {}
    retained: list[dict[str, Any]] = []
    files: list[str] = []
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        person = Person.objects.filter(user=user).first()
        respondents = list(Respondent.objects.filter(user=user))
        identifiers = _identifiers(user, person, respondents)
        responses = list(_responses_of(user).values("pk", "wave_id", "survey_id", "instance_id"))
        response_ids = [r["pk"] for r in responses]
        waves = {r["wave_id"] for r in responses if r["wave_id"]}
        surveys = {r["survey_id"] for r in responses}

        # Files and rows built from the answers: survey exports (asked for again, they are built
        # without them), research files (their link ends; a renewal rebuilds), webhook payloads.
        exports = ExportJob.objects.filter(wave_id__in=waves)
        files += [name for name in exports.exclude(file="").values_list("file", flat=True)]
        removed["survey_exports"] = exports.delete()[0]
        removed["research_files"] = _research_files_withdrawn(surveys, files)
        instance_ids = [str(r["instance_id"]) for r in responses]
        removed["webhook_deliveries"] = WebhookDelivery.objects.filter(
            payload__response__instance_id__in=instance_ids
        ).delete()[0] if instance_ids else 0  # fmt: skip

        # Programme participation: kept while the obligation is open (unlinked), else anonymised.
        participations = list(Participation.objects.filter(Q(person__user=user) | Q(respondent__user=user)))
        anonymised: list[str] = []
        for participation in participations:
            if participation.status in OPEN_OBLIGATIONS:
                Participation.objects.filter(pk=participation.pk).update(person=None, respondent=None)
                retained.append({"kind": "participation", "id": participation.pk, "why": "open work obligation"})
                continue
            episodes = Episode.objects.filter(participation=participation)
            pauses = ObligationPause.objects.filter(participation=participation)
            files += [n for n in episodes.exclude(document="").values_list("document", flat=True)]
            files += [n for n in pauses.exclude(evidence="").values_list("evidence", flat=True)]
            EmployerConfirmation.objects.filter(episode__participation=participation).delete()
            episodes.update(employer="", document="", conflict="")
            pauses.update(reason="", evidence="")
            StatusChange.objects.filter(participation=participation).update(reason="", explanation=[])
            Participation.objects.filter(pk=participation.pk).update(
                person=None, respondent=None, full_name="", email="", host_institution="",
                external_id=f"erased-{participation.pk}", link_candidates=[], status_reason="", explanation={},
            )  # fmt: skip
            anonymised += [v for v in (participation.external_id, participation.full_name) if len(v) >= 3]
            removed["participations_anonymised"] = removed.get("participations_anonymised", 0) + 1
        # Other participations may list this person among the candidates to link.
        _forget_candidates(person, respondents)

        removed["survey_responses"] = _delete_responses(response_ids)
        removed["import_reports_scrubbed"] = _scrub_reports(PanelImport, identifiers) + _scrub_reports(
            ObligationImport, identifiers + anonymised
        )
        removed["invitations"] = sum(r.invitations.count() for r in respondents)
        Respondent.objects.filter(pk__in=[r.pk for r in respondents]).delete()
        removed["survey_addresses"] = len(respondents)
        removed["messages"] = Message.objects.filter(Q(sender=user) | Q(recipient=user)).delete()[0]
        if person is not None:
            removed["consents"] = Consent.objects.filter(person=person).count()
            removed["matches"] = person.matches.count()
            person.delete()
            removed["registry_profile"] = 1
        removed["sessions"] = _end_sessions(user)
        removed["sign_in_records"] = _forget_sign_in_attempts(user)
        account_id = user.pk
        user.delete()
        record = ErasureRecord.objects.create(
            account_id=account_id,
            requested_by=ErasureRecord.Requester.PERSON if actor is None else ErasureRecord.Requester.ADMINISTRATOR,
            actor_id=actor.pk if actor is not None else None,
            reason=reason[:300],
            removed={k: v for k, v in removed.items() if v},
            retained=retained,
        )
        audit_record(actor=actor, action="personal_data.erased", target=record, programme_id=None,
                     detail={"account": account_id})  # fmt: skip

        def after_commit() -> None:
            for name in files:
                try:
                    default_storage.delete(name)
                except OSError:  # already gone
                    logger.warning("erasure %s: could not delete %s", record.pk, name)
            _drop_from_frames(waves, response_ids)
            _forget_tallies(waves)
            _forget_matching_index()

        transaction.on_commit(after_commit)
    return record


def _identifiers(user: User, person, respondents) -> list[str]:
    values = [user.username, user.email, user.get_full_name()]
    if person is not None:
        values.append(person.display_name)
    values += [r.email for r in respondents]
    return sorted({v for v in values if v and len(v) >= 3})


def _research_files_withdrawn(surveys: set[int], files: list[str]) -> int:
    """Research files of these surveys: deleted, and their link ended (a renewal builds them anew)."""
    from analytics.models import ResearchExport

    built = ResearchExport.objects.filter(request__survey_id__in=surveys).exclude(file="")
    files += list(built.values_list("file", flat=True))
    return built.update(file="", expires_at=timezone.now(), params_hash="")


def _delete_responses(response_ids: list[int]) -> int:
    from surveys.models import Response

    if not response_ids:
        return 0
    return Response.objects.filter(pk__in=response_ids).delete()[0]


def _forget_candidates(person, respondents) -> None:
    from diaspora.models import Participation

    ids = {("person", person.pk)} if person is not None else set()
    ids |= {("respondent", r.pk) for r in respondents}
    if not ids:
        return
    for participation in Participation.objects.exclude(link_candidates=[]).only("pk", "link_candidates"):
        kept = [
            c for c in participation.link_candidates
            if not (isinstance(c, dict) and (c.get("kind"), c.get("id")) in ids)
        ]  # fmt: skip
        if len(kept) != len(participation.link_candidates):
            Participation.objects.filter(pk=participation.pk).update(link_candidates=kept)


def _scrub_reports(model, identifiers: list[str]) -> int:
    """Import reports quote rows of the file (a rejected row's address): replace the person's."""
    import json

    if not identifiers:
        return 0
    changed = 0
    query = Q()
    for value in identifiers:
        query |= Q(report__icontains=value)
    for row in model.objects.filter(query).only("pk", "report"):
        text = json.dumps(row.report, ensure_ascii=False)
        for value in identifiers:
            text = _replace_ci(text, json.dumps(value, ensure_ascii=False)[1:-1], "(erased)")
        model.objects.filter(pk=row.pk).update(report=json.loads(text))
        changed += 1
    return changed


def _replace_ci(text: str, old: str, new: str) -> str:
    import re

    return re.sub(re.escape(old), new, text, flags=re.IGNORECASE)


def _end_sessions(user: User) -> int:
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id", "")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def _forget_sign_in_attempts(user: User) -> int:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    return sum(model.objects.filter(username__iexact=user.username).delete()[0]
               for model in (AccessAttempt, AccessFailureLog, AccessLog))  # fmt: skip


def _drop_from_frames(waves: set[int], response_ids: list[int]) -> None:
    from analytics.services.frames import drop_responses

    for wave_id in waves:
        try:
            drop_responses(wave_id, response_ids)
        except Exception:  # the next build reads the wave in full (the removals are logged by trigger)
            logger.exception("erasure: could not rewrite the frames of wave %s", wave_id)


def _forget_tallies(waves: set[int]) -> None:
    from surveys.models import Wave
    from surveys.selectors_summaries import tally_forget

    for wave in Wave.objects.filter(pk__in=waves):
        tally_forget(wave)


def _forget_matching_index() -> None:
    from diaspora.services.matching import index_forget_erased

    index_forget_erased()
