"""How people are named to each other: never by a username or an e-mail address.

Usernames are login names (often an e-mail address); the join form promises they are never
shown. Every page, API answer, export and mail that names a user to someone else calls
`shown_name`.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .models import Role, User


def shown_name(user: User | None) -> str:
    """A registry member's display name; anyone else's full name or, without one, their role,
    followed by their institution for institution staff (and anyone else linked to one)."""
    if user is None:
        return "Kelu"
    person = getattr(user, "person", None)  # the reverse one-to-one raises AttributeError when absent
    if person is not None and person.display_name:
        return person.display_name
    name = user.get_full_name().strip()
    if "@" in name:  # a full name typed as an address is an address
        name = ""
    if not name:
        name = _("Kelu administrator") if user.is_superuser else str(Role(user.role).label)
    institution = user.institutions.order_by("name").first()
    return f"{name} ({institution.name})" if institution else name
