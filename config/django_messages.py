"""Django's own messages that the registry's join form shows, listed so that `makemessages` keeps
them in the project's catalogues.

Django ships no Kazakh for them (its kk catalogue leaves the password validators empty), and its
Russian forms put the wrong case after "не менее" for some numbers; the project's catalogues,
which take precedence over Django's, hold both. Nothing imports this module: it only marks text.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

DJANGO_MESSAGES = (
    # django.contrib.auth.password_validation
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("This password is too common."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Your password can’t be entirely numeric."),
    # the username and e-mail fields
    gettext_noop("email address"),
    gettext_noop("Enter a valid email address."),
    gettext_noop("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
)
