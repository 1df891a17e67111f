"""One-click opt-out from invitation mail: /o/<token>/ (GET asks, POST opts out)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..emails import email_language
from ..models import Invitation
from ..services.invitations import invitation_opt_out
from ..tokens import looks_like_token, token_hash


# No CSRF token: mail programs send RFC 8058 one-click unsubscribes as a bare POST
# to this URL. The secret in the URL is the credential, and the only thing a
# forged request could do is what the link's owner can do with one click.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def optout(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation(token)
    if invitation is None:
        return _page(request, "surveys/optout_invalid.html", {}, language=None, status=404)
    context = {"invitation": invitation, "email": invitation.respondent.email}
    # GET never opts out: link scanners and previews open links in mail.
    if request.method == "POST":
        invitation_opt_out(invitation=invitation)
        return _page(request, "surveys/optout_done.html", context, language=invitation.language)
    already = invitation.respondent.opted_out_at is not None
    template = "surveys/optout_done.html" if already else "surveys/optout.html"
    return _page(request, template, context, language=invitation.language)


def _invitation(token: str) -> Invitation | None:
    if not looks_like_token(token):
        return None
    return Invitation.objects.select_related("respondent", "wave__survey").filter(token_hash=token_hash(token)).first()


def _page(request: HttpRequest, template: str, context: dict, *, language: str | None, status: int = 200):
    code = email_language(language) if language else translation.get_language_from_request(request)
    with translation.override(code):
        reply = render(request, template, {**context, "language": code}, status=status)
    # The URL holds a secret: keep it out of caches, referrers and search engines.
    reply["Cache-Control"] = "no-store"
    reply["Referrer-Policy"] = "no-referrer"
    reply["X-Robots-Tag"] = "noindex"
    return reply
