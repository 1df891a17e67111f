"""Relayed messages: read and reply on the platform; nobody's e-mail address is ever shown."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .. import selectors
from ..forms import ReplyForm
from ..models import Message
from ..services.messages import MessageRefused, message_mark_read, message_reply
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


@login_required
@require_http_methods(["GET", "POST"])
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    """One message, to or from the viewer (anyone else's is a 404); a reply goes back through the platform."""
    message = selectors.message_get_for(request.user, message_id)
    is_recipient = message.recipient_id == request.user.pk
    if is_recipient and message.read_at is None:
        message_mark_read(message=message)
    can_reply = is_recipient and message.sender_id is not None
    form = ReplyForm(request.POST or None) if can_reply else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            message_reply(sender=request.user, original=message, body=form.cleaned_data["body"])
        except MessageRefused as exc:
            form.add_error("body", str(exc))
        else:
            messages.success(request, _("Your reply is sent."))
            return redirect("diaspora-inbox")
    context = {
        "message": message,
        "from_label": sender_label(message.sender),
        "to_label": sender_label(message.recipient),
        "is_recipient": is_recipient,
        "form": form,
        "error_summary": form.error_summary() if form is not None else [],
    }
    status = 400 if form is not None and form.errors else 200
    return page(request, "diaspora/inbox/message.html", context, current="inbox", status=status)
