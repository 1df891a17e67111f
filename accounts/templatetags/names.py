from django import template

from ..names import shown_name as _shown_name

register = template.Library()


@register.filter
def shown_name(user) -> str:
    """{{ message.sender|shown_name }}: how the user is named to others (accounts.names)."""
    return _shown_name(user)
