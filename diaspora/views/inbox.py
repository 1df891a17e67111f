"""Relayed messages: read and reply on the platform; nobody's e-mail address is ever shown.

An offer is a message with its match: its expert answers it from the message (accept or
decline, each confirmed once on its own page) or replies with a question, and the thread of
the offer is shown to the expert and to whoever may act on the request.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import selectors
from ..forms import DeclineForm, ReplyForm
from ..models import Match, Message
from ..selectors_offers import match_thread, may_follow_thread, offer_use_after_accepting
from ..services import lifecycle
from ..services.messages import MessageRefused, message_mark_read, message_reply
from ..templatetags.diaspora_offers import limit_text
from .common import PAGE_SIZE, page, sender_label


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    received = selectors.inbox_of(request.user)
    listing = Paginator(received, PAGE_SIZE).get_page(request.GET.get("page"))
    sent = Message.objects.filter(sender=request.user).select_related("recipient__person")[:PAGE_SIZE]
    context = {
        "page": listing,
        "received": [(m, sender_label(m.sender)) for m in listing.object_list],
        "sent": [(m, sender_label(m.recipient)) for m in sent],
    }
    return page(request, "diaspora/inbox/list.html", context, current="inbox")


def _can_reply(message: Message, user) -> bool:
    """A person's message, or an offer the platform made (answered to the institution)."""
    if message.recipient_id != user.pk:
        return False
    return message.sender_id is not None or (message.match is not None and message.match.person.user_id == user.pk)


@login_required
@require_http_methods(["GET", "POST"])
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    """One message, to or from the viewer (anyone else's is a 404); a reply goes back through the platform."""
    message = selectors.message_get_for(request.user, message_id)
    is_recipient = message.recipient_id == request.user.pk
    if is_recipient and message.read_at is None:
        message_mark_read(message=message)
    form = ReplyForm(request.POST or None) if _can_reply(message, request.user) else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            message_reply(sender=request.user, original=message, body=form.cleaned_data["body"])
        except MessageRefused as exc:
            form.add_error("body", str(exc))
        else:
            messages.success(request, _("Your reply is sent."))
            # An offer's conversation is shown on the message's page: the reply appears there.
            return redirect("diaspora-message", message_id=message.pk) if message.match else redirect("diaspora-inbox")
    match = message.match
    follows = match is not None and may_follow_thread(request.user, match)
    context = {
        "message": message,
        "from_label": sender_label(message.sender),
        "to_label": sender_label(message.recipient),
        "is_recipient": is_recipient,
        "form": form,
        "error_summary": form.error_summary() if form is not None else [],
        "offer": match if follows and match.person.user_id == request.user.pk else None,
        "request_link": reverse("diaspora-request", args=[match.request_id]) + f"#match-{match.pk}"
        if follows and match.person.user_id != request.user.pk
        else "",
        "thread": [(m, sender_label(m.sender)) for m in match_thread(match) if m.pk != message.pk] if follows else [],
    }
    status = 400 if form is not None and form.errors else 200
    return page(request, "diaspora/inbox/message.html", context, current="inbox", status=status)


# --------------------------------------------------------------------------- answering an offer


def _my_offer(request: HttpRequest, match_id: int) -> Match:
    person = selectors.person_of(request.user)
    match = None
    if person is not None:
        match = selectors.matches_of_person(person).select_related("person").filter(pk=match_id).first()
    if match is None:
        raise Http404("No such offer.")
    return match


def _back(request: HttpRequest, match: Match) -> str:
    """Where the answer returns: the page it was asked from (a message), else the profile's card."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("diaspora-me") + f"#engagement-{match.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def offer_answer(request: HttpRequest, match_id: int, action: str) -> HttpResponse:
    """Accept or decline an offer: GET asks once (a page, no script needed), POST does it."""
    if action not in ("accept", "decline"):
        raise Http404
    match = _my_offer(request, match_id)
    back = _back(request, match)
    form = DeclineForm(request.POST or None, prefix=f"m{match.pk}") if action == "decline" else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            if action == "accept":
                lifecycle.match_accept(match=match, user=request.user)
                messages.success(request, _("Accepted. The institution has been told and will confirm the start."))
            else:
                lifecycle.match_decline(match=match, user=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, _("Declined. Thank you for answering."))
        except lifecycle.TransitionRefused as exc:
            messages.error(request, str(exc))
        return redirect(back)
    if match.status != Match.Status.OFFERED:
        messages.error(
            request,
            _("This offer can no longer be answered (it is %(status)s).") % {"status": match.get_status_display()},
        )
        return redirect(back)
    use = offer_use_after_accepting(match) if action == "accept" else None
    context = {
        "match": match,
        "action": action,
        "form": form,
        "error_summary": form.error_summary() if form is not None and form.is_bound else [],
        "limit_after": limit_text(use) if use is not None else "",
        "back": back,
    }
    status = 400 if form is not None and form.errors else 200
    return page(request, "diaspora/inbox/answer.html", context, current="inbox", status=status)
