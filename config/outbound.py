"""Requests the server makes to addresses its users give (webhooks): public addresses only.

A webhook URL is typed by a survey's staff; without a check, the server would POST to
whatever it names: its own loopback services, the private network behind it, the cloud's
metadata address (169.254.169.254). Two checks:

- when the URL is saved (`outbound_url_problem`): http(s) only, and a host that is not, and
  does not resolve to, a loopback, private, link-local, multicast or reserved address;
- when connecting (`public_opener`): the address the socket actually reached is checked
  again, so a name that resolves differently later (DNS rebinding) is refused before a byte
  is sent; redirects are not followed at all.

WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true lifts both (a closed test network, a receiver on the
same host).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings


class AddressRefused(OSError):
    """The address is not a public one."""


def _allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def outbound_url_problem(url: str) -> str | None:
    """Why the server must not send to `url`, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "Only http and https addresses are accepted."
    host = parts.hostname or ""
    if not host:
        return "The address has no host."
    if _allowed():
        return None
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"{host} is not a public address."
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return None if is_public(host) else f"{host} is not a public address."
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return None  # not resolvable now: checked again when sending
    private = sorted(a for a in found if not is_public(a))
    return f"{host} resolves to an address that is not public ({', '.join(private)})." if private else None


def validate_public_url(value: str) -> None:
    """A model field validator: the webhook form names why an address is refused."""
    from django.core.exceptions import ValidationError

    problem = outbound_url_problem(value)
    if problem:
        raise ValidationError(problem, code="address")


def _check_peer(sock: socket.socket) -> None:
    if _allowed():
        return
    peer = sock.getpeername()[0]
    if not is_public(peer):
        sock.close()
        raise AddressRefused(f"refused to send to {peer}: not a public address")


class _CheckedConnect:
    """The TCP connection is checked as soon as it is made: before TLS or HTTP sends anything."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        create = self._create_connection

        def checked(*a, **kw) -> socket.socket:
            sock = create(*a, **kw)
            _check_peer(sock)
            return sock

        self._create_connection = checked


class _HTTPConnection(_CheckedConnect, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_CheckedConnect, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: it would turn the POST into a GET without
    its body, and could point inside the network."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


def public_opener() -> urllib.request.OpenerDirector:
    """An opener whose connections reach public addresses only and that follows no redirect."""
    return urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _NoRedirects)
