"""`{% load site %}`: the site's shared template helpers (registered in settings.TEMPLATES)."""

from django import template

from config.links import link

register = template.Library()


@register.simple_tag
def site_link(name: str) -> str:
    """`{% site_link "registry-join" as url %}`: a page another app offers, or ""."""
    return link(name)
