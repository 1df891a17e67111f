"""Names of the shipped country groups, for the translation catalogue.

The groupings are data (analytics/data/*.csv) and their labels are stored in English; the
pages pass them through gettext, which finds these.
"""

from django.utils.translation import gettext_noop

GROUP_NAMES = (
    # HDI 2021 tiers
    gettext_noop("Very high"),
    gettext_noop("High"),
    gettext_noop("Medium"),
    gettext_noop("Low"),
    # CIS / non-CIS, and Russia / other CIS / OECD / other
    gettext_noop("CIS"),
    gettext_noop("Non-CIS countries"),
    gettext_noop("Russia"),
    gettext_noop("Other CIS"),
    gettext_noop("OECD"),
    gettext_noop("Other"),
    # UN M49 regions
    gettext_noop("Africa"),
    gettext_noop("Americas"),
    gettext_noop("Asia"),
    gettext_noop("Europe"),
    gettext_noop("Oceania"),
    # GTCI
    gettext_noop("Top 25"),
    gettext_noop("Ranked below 25"),
)
