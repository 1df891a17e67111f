"""The directory of registry members and a person's page: only what the viewer may see.

Every person comes through diaspora.selectors (people_listed_for, directory, person_get_for),
so hidden, paused, closed and withdrawn profiles are never listed and are a 404 here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.audit import audit_record

from .. import selectors
from ..exports import directory_csv
from ..forms import DirectoryForm, MessageForm, language
from ..selectors import DirectoryFilters
from ..services.messages import MessageRefused, message_send
from .common import PAGE_SIZE, page, registry_readers, works_with_requests
from .display import card_view


@registry_readers
def directory(request: HttpRequest) -> HttpResponse:
    form = DirectoryForm(request.GET or None)
    filters = DirectoryFilters(**form.filters()) if form.is_bound else DirectoryFilters()
    people = selectors.directory(request.user, filters)
    listing = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    lang = language()
    context = {
        "form": form,
        "page": listing,
        "cards": [card_view(selectors.person_card(request.user, p), lang) for p in listing.object_list],
        "query": urlencode([(k, v) for k, v in request.GET.items() if k != "page"]),
        "public_only": not works_with_requests(request.user),
    }
    return page(request, "diaspora/registry/directory.html", context, current="directory")


@registry_readers
def directory_export(request: HttpRequest) -> HttpResponse:
    """The filtered directory as CSV, with exactly the fields the page would show."""
    form = DirectoryForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return redirect(reverse("diaspora-directory") + "?" + request.GET.urlencode())
    filters = DirectoryFilters(**form.filters()) if form.is_bound else DirectoryFilters()
    people = selectors.directory(request.user, filters)
    body = directory_csv(request.user, people)
    audit_record(actor=request.user, action="export.directory", target=request.user, programme_id=None,
                 detail={"filters": {k: v for k, v in vars(filters).items() if v}, "rows": people.count()})  # fmt: skip
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kelu-directory.csv"'
    return response


@registry_readers
@require_http_methods(["GET", "POST"])
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = selectors.person_get_for(request.user, person_id)
    card = card_view(selectors.person_card(request.user, person), language())
    can_write = card.get("can_message", False) and person.user_id != request.user.pk
    form = MessageForm(request.POST or None) if can_write else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            message_send(sender=request.user, person=person, **form.cleaned_data)
        except MessageRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your message is sent. The reply will come to your messages."))
            return redirect("diaspora-person", person_id=person.pk)
    context = {
        "card": card,
        "form": form,
        "error_summary": form.error_summary() if form is not None else [],
        "is_me": person.user_id == request.user.pk,
    }
    status = 400 if form is not None and form.errors else 200
    return page(request, "diaspora/registry/person.html", context, current="directory", status=status)
