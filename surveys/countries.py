"""The ISO 3166-1 country list offered by country questions, named in kk, ru and en.

Codes are alpha-3, as in the official statistics the platform sets responses
beside. Names come from CLDR (through Babel); pycountry supplies the code table.
"""

from functools import cache

import pycountry
from babel import Locale

LANGUAGES = ("kk", "ru", "en")
# The XLSForm spelling the platform recognises for its built-in country list.
COUNTRY_FILE_NAMES = {"countries.csv", "iso3166.csv"}
# Where CLDR's name is not the one used in Kazakhstan (Russian there says «Кыргызстан»).
_NAME_OVERRIDES = {("KG", "ru"): "Кыргызстан"}


@cache
def country_choices() -> tuple[tuple[str, dict[str, str]], ...]:
    """(alpha-3 code, {language: name}) for every ISO 3166-1 country, by code."""
    locales = {code: Locale.parse(code) for code in LANGUAGES}
    rows = []
    for country in pycountry.countries:
        labels = {
            lang: _NAME_OVERRIDES.get((country.alpha_2, lang)) or locale.territories.get(country.alpha_2, country.name)
            for lang, locale in locales.items()
        }
        rows.append((country.alpha_3, labels))
    return tuple(sorted(rows))


@cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in country_choices())
