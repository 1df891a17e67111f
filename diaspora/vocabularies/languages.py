"""Languages a person can say they speak: ISO 639-1 codes, named by Babel (CLDR) in any UI language."""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

from config.collation import sorted_choices

from ._labels import LABEL_LANGUAGES, base_language, describe_unknown, name_index

# Kazakhstan's languages first, then the diaspora's countries of residence and the region's neighbours.
LANGUAGES: tuple[str, ...] = (
    "kk", "ru", "en", "de", "fr", "tr", "zh", "ar", "es", "it", "ko", "ja", "uz", "ky", "tg", "tk",
    "az", "uk", "be", "tt", "ug", "mn", "pl", "cs", "hu", "fa", "hi", "pt", "nl", "sv", "fi", "he",
)  # fmt: skip

# Country codes typed where a language code belongs ("kz" for Kazakh is the classic).
_COUNTRY_CODE_MIXUPS = {
    "kz": "kk", "ua": "uk", "cn": "zh", "jp": "ja", "kr": "ko", "ir": "fa", "il": "he", "cz": "cs",
    "se": "sv", "kg": "ky", "tj": "tg", "by": "be",
}  # fmt: skip


# Where CLDR's name is not the one used in Kazakhstan: Russian there says «кыргызский» (as in
# «Кыргызстан»), and Kazakh names Hebrew «иврит» without «тілі».
_NAME_OVERRIDES = {("ky", "ru"): "кыргызский", ("he", "kk"): "иврит"}


def language_label(code: str, language: str) -> str:
    """`code`'s name in `language` ("de", "kk" -> "Неміс тілі"), else in English, else the code.

    Capitalised like every other label in a list (CLDR writes kk and ru language names in lower case)."""
    for display in (base_language(language), "en"):
        try:
            name = _NAME_OVERRIDES.get((code, display)) or Locale.parse(display).languages.get(code)
        except (ValueError, UnknownLocaleError):
            continue
        if name:
            return name[:1].upper() + name[1:]
    return code


def language_choices(language: str) -> list[tuple[str, str]]:
    pairs = [(code, language_label(code, language)) for code in LANGUAGES]
    return sorted_choices(pairs, base_language(language))


def _names() -> dict[str, str]:
    table = {code: {lang: language_label(code, lang) for lang in LABEL_LANGUAGES} for code in LANGUAGES}
    return name_index(table) | _COUNTRY_CODE_MIXUPS


def check_languages(codes: Iterable[str]) -> tuple[str, ...]:
    """Offered ISO 639-1 codes, lower-cased ("en-GB" -> "en"), without repeats, in the given order."""
    given = [codes] if isinstance(codes, str) else list(codes)  # a lone string is one code, not letters
    unknown = list(dict.fromkeys(raw for raw in given if base_language(raw.strip()) not in LANGUAGES))
    if unknown:
        raise ValueError(
            f"Unsupported language code{'s' if len(unknown) > 1 else ''}: {describe_unknown(unknown, _names())}. "
            f"Use ISO 639-1 codes from: {', '.join(LANGUAGES)}."
        )
    return tuple(dict.fromkeys(base_language(raw.strip()) for raw in given))
