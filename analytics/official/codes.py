"""Code lists of the long format, and the checks of one value against them.

Each `check_*` function returns None when the value is valid, else a message that
names the bad value; the row reader turns it into a per-row error.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

from django.utils.translation import gettext as _

# Columns of the long format, in file order (see shared/data/official/README.md).
COLUMNS = (
    "indicator_code",
    "indicator_name",
    "ref_area",
    "counterpart_area",
    "flow",
    "time_period",
    "sex",
    "age",
    "education",
    "specialty",
    "scope",
    "obs_value",
    "unit_measure",
    "unit_mult",
    "obs_status",
    "source_org",
    "source_type",
    "source",
    "comment",
)
REQUIRED_COLUMNS = ("indicator_code", "ref_area", "time_period", "obs_value")
BREAKDOWNS = ("counterpart_area", "sex", "age", "education", "specialty", "scope")
DEFAULTS = {
    "counterpart_area": "_T",
    "flow": "_Z",
    "sex": "_T",
    "age": "_T",
    "education": "_T",
    "specialty": "_T",
    "scope": "_T",
    "unit_measure": "PS",
    "unit_mult": "0",
    "obs_status": "A",
}

TOTAL = "_T"
OTHERS = "_O"

FLOWS = ("OUT", "IN", "NET", "MOVE")  # flows: counts over a period
STOCK = "STOCK"  # a stock: a count at a moment
FLOW_CODES = (*FLOWS, STOCK, "_Z")

# SDMX CL_OBS_STATUS (2.1).
OBS_STATUSES = {
    "A": "Normal value",
    "B": "Time series break",
    "D": "Definition differs",
    "E": "Estimated value",
    "F": "Forecast value",
    "G": "Experimental value",
    "I": "Imputed value",
    "K": "Data included in another category",
    "L": "Missing value; data exist but were not collected",
    "M": "Missing value; data cannot exist",
    "N": "Not significant",
    "O": "Missing value",
    "P": "Provisional value",
    "S": "Strike and other special events",
    "U": "Low reliability",
    "V": "Unvalidated value",
}
MISSING_STATUSES = {"L", "M", "O"}  # a row with one of these may have an empty value
SEX_CODES = {"M", "F", "_T", "_U", "_Z"}
SOURCE_TYPES = ("official_api", "official_publication", "secondary_publication", "secondary_press")
# Units whose values add up across a breakdown; percentages, ratios and indices do not.
NON_ADDITIVE_UNITS = {"PT", "RATIO", "INDEX", "IX", "RANK", "SCORE"}

# Areas that are not countries: totals, "all others", not applicable, unknown, and the
# named aggregates the Bureau reports.
SPECIAL_AREAS = {"_T", "_O", "_Z", "_U", "_X", "CIS", "NON_CIS", "WLD"}
AGGREGATE_AREAS = {"CIS", "NON_CIS", "WLD"}
# XKX (Kosovo) is the user-assigned code the EU, the World Bank and the IMF use.
EXTRA_COUNTRIES = {"XKX"}

CODE_RE = re.compile(r"^[A-Z0-9_][A-Z0-9_.\-]*$")
PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-(?:S(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")
SPAN_RE = re.compile(r"^(?P<start>\d{4})/(?P<end>\d{4})$")


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes (pycountry) and the few user-assigned codes in use."""
    import pycountry

    return frozenset({c.alpha_3 for c in pycountry.countries} | EXTRA_COUNTRIES)


@cache
def kz_regions() -> frozenset[str]:
    """ISO 3166-2:KZ codes (KZ-ALA, ...), for series by oblast."""
    import pycountry

    return frozenset(s.code for s in pycountry.subdivisions.get(country_code="KZ"))


def check_area(value: str, column: str) -> str | None:
    if value in SPECIAL_AREAS or value in countries() or value in kz_regions():
        return None
    return _("%(column)s: unknown country or area code %(value)r (expected ISO 3166-1 alpha-3, e.g. RUS)") % {
        "column": column,
        "value": value,
    }


def check_period(value: str) -> str | None:
    span = SPAN_RE.match(value)
    if span and span["start"] < span["end"]:
        return None
    if PERIOD_RE.match(value):
        return None
    return _("time_period: %(value)r is not a period (YYYY, YYYY-S1/S2, YYYY-Q1..Q4, YYYY-MM or YYYY/YYYY)") % {
        "value": value
    }


def check_flow(value: str) -> str | None:
    if value in FLOW_CODES:
        return None
    return _("flow: unknown flow %(value)r (expected one of %(codes)s)") % {
        "value": value,
        "codes": ", ".join(FLOW_CODES),
    }


def check_status(value: str) -> str | None:
    if value in OBS_STATUSES:
        return None
    return _("obs_status: unknown status %(value)r (expected an SDMX observation status: A, E, P, ...)") % {
        "value": value
    }


def check_sex(value: str) -> str | None:
    if value in SEX_CODES:
        return None
    return _("sex: unknown code %(value)r (expected M, F or _T)") % {"value": value}


def check_code(value: str, column: str) -> str | None:
    if CODE_RE.match(value):
        return None
    return _("%(column)s: %(value)r is not a code (capital letters, digits and _)") % {
        "column": column,
        "value": value,
    }


def check_source_type(value: str) -> str | None:
    if value == "" or value in SOURCE_TYPES:
        return None
    return _("source_type: unknown source type %(value)r (expected one of %(codes)s)") % {
        "value": value,
        "codes": ", ".join(SOURCE_TYPES),
    }


def parse_value(value: str) -> Decimal:
    """The observation value as a Decimal; raises ValueError naming it when it is not a number."""
    cleaned = value.replace("\u00a0", "").replace(" ", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(_("obs_value: %(value)r is not a number") % {"value": value})
    return number


def parse_unit_mult(value: str) -> int:
    try:
        mult = int(value)
    except ValueError:
        mult = None
    if mult is None or not 0 <= mult <= 12:
        raise ValueError(_("unit_mult: %(value)r is not a power of ten between 0 and 12") % {"value": value})
    return mult
