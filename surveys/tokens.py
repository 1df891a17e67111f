"""Secrets in links: invitation links and resume links.

A link's secret is never stored. Invitation secrets are derived from a random
per-invitation nonce with HMAC-SHA256 under SECRET_KEY, so the sender can put the
same link in every reminder; resume secrets for public-link responses are random
and shown once. Either way the database keeps only SHA-256 hashes for lookups.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

_PURPOSE = b"kelu-invitation-link:"


def new_nonce() -> str:
    return secrets.token_hex(16)


def invitation_token(nonce: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), _PURPOSE + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_resume_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    return 20 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)
