"""Pages one app offers to the others without either naming the other.

An app higher up the dependency chain registers a page under a neutral name in its
AppConfig.ready() (the registry offers "registry-join"); a lower app asks for the
name and shows the link only when some app offers it. So `surveys` and `accounts`
link to the registry's sign-up without reversing a `diaspora-` URL name.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

_offered: dict[str, str] = {}


def offer(name: str, url_name: str) -> None:
    """Make the page `url_name` reachable as `name` (called from an AppConfig.ready)."""
    _offered[name] = url_name


def link(name: str) -> str:
    """The path of the page offered as `name`, or "" when no installed app offers it."""
    url_name = _offered.get(name)
    if not url_name:
        return ""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return ""
