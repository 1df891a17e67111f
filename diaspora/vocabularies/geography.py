"""Kazakhstan's regions (ISO 3166-2:KZ) and time zones by country of residence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from babel.core import get_global

from ._labels import Labels, choices, describe_unknown, labels, name_index, pick

# The numeric codes pycountry carries since the 2022 reform (Abai, Zhetysu and Ulytau regions created).
KZ_REGIONS: dict[str, Labels] = {
    "KZ-10": labels("Abai Region", "Область Абай", "Абай облысы"),
    "KZ-11": labels("Akmola Region", "Акмолинская область", "Ақмола облысы"),
    "KZ-15": labels("Aktobe Region", "Актюбинская область", "Ақтөбе облысы"),
    "KZ-19": labels("Almaty Region", "Алматинская область", "Алматы облысы"),
    "KZ-23": labels("Atyrau Region", "Атырауская область", "Атырау облысы"),
    "KZ-27": labels("West Kazakhstan Region", "Западно-Казахстанская область", "Батыс Қазақстан облысы"),
    "KZ-31": labels("Zhambyl Region", "Жамбылская область", "Жамбыл облысы"),
    "KZ-33": labels("Zhetysu Region", "Область Жетісу", "Жетісу облысы"),
    "KZ-35": labels("Karaganda Region", "Карагандинская область", "Қарағанды облысы"),
    "KZ-39": labels("Kostanay Region", "Костанайская область", "Қостанай облысы"),
    "KZ-43": labels("Kyzylorda Region", "Кызылординская область", "Қызылорда облысы"),
    "KZ-47": labels("Mangystau Region", "Мангистауская область", "Маңғыстау облысы"),
    "KZ-55": labels("Pavlodar Region", "Павлодарская область", "Павлодар облысы"),
    "KZ-59": labels("North Kazakhstan Region", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы"),
    "KZ-61": labels("Turkistan Region", "Туркестанская область", "Түркістан облысы"),
    "KZ-62": labels("Ulytau Region", "Область Ұлытау", "Ұлытау облысы"),
    "KZ-63": labels("East Kazakhstan Region", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы"),
    "KZ-71": labels("Astana", "Астана", "Астана"),
    "KZ-75": labels("Almaty", "Алматы", "Алматы"),
    "KZ-79": labels("Shymkent", "Шымкент", "Шымкент"),
}

# Letter codes used before ISO switched Kazakhstan to numbers; older exports still carry them.
# Only a hint in error messages: KZ-VOS, KZ-ALM and KZ-KAR each lost territory in 2022.
_LEGACY_REGION_CODES = {
    "KZ-AKM": "KZ-11", "KZ-AKT": "KZ-15", "KZ-ALA": "KZ-75", "KZ-ALM": "KZ-19", "KZ-AST": "KZ-71",
    "KZ-ATY": "KZ-23", "KZ-KAR": "KZ-35", "KZ-KUS": "KZ-39", "KZ-KZY": "KZ-43", "KZ-MAN": "KZ-47",
    "KZ-PAV": "KZ-55", "KZ-SEV": "KZ-59", "KZ-SHY": "KZ-79", "KZ-VOS": "KZ-63", "KZ-YUZ": "KZ-61",
    "KZ-ZAP": "KZ-27", "KZ-ZHA": "KZ-31",
}  # fmt: skip

_REGION_NAMES = name_index(KZ_REGIONS) | {old.casefold(): new for old, new in _LEGACY_REGION_CODES.items()}

# Where Babel's first zone for a country is not where most people live (America/Adak for the USA).
# Kazakhstan has one offset, UTC+5, since 1 March 2024 (tzdata 2024a), so any of its zones would do.
_MAIN_ZONE = {
    "USA": "America/New_York", "RUS": "Europe/Moscow", "CAN": "America/Toronto", "AUS": "Australia/Sydney",
    "BRA": "America/Sao_Paulo", "CHN": "Asia/Shanghai", "KAZ": "Asia/Almaty", "MEX": "America/Mexico_City",
    "IDN": "Asia/Jakarta", "CHL": "America/Santiago", "COD": "Africa/Kinshasa", "CYP": "Asia/Nicosia",
    "ECU": "America/Guayaquil", "ESP": "Europe/Madrid", "FSM": "Pacific/Pohnpei", "GRL": "America/Nuuk",
    "KIR": "Pacific/Tarawa", "MHL": "Pacific/Majuro", "MNG": "Asia/Ulaanbaatar", "MYS": "Asia/Kuala_Lumpur",
    "PRT": "Europe/Lisbon", "PYF": "Pacific/Tahiti", "UZB": "Asia/Tashkent",
}  # fmt: skip


def region_label(code: str, language: str) -> str:
    return pick(KZ_REGIONS.get(code), language, code)


def region_choices(language: str) -> list[tuple[str, str]]:
    return choices(KZ_REGIONS, language, by_label=True)


def check_region(code: str) -> str:
    """`code` (upper-cased) if it is one of the 20 ISO 3166-2:KZ subdivisions, else ValueError."""
    cleaned = code.strip().upper() if isinstance(code, str) else code
    if cleaned in KZ_REGIONS:
        return cleaned
    raise ValueError(
        f"Unknown Kazakhstan region {describe_unknown([str(code)], _REGION_NAMES)}: "
        f"expected an ISO 3166-2:KZ code such as 'KZ-55' (Pavlodar Region). Allowed: {', '.join(KZ_REGIONS)}."
    )


# The 2022 reform (decrees of 8 June 2022): three regions split from their parents. Before that
# date a parent's code stood for its whole territory, the new region's included.
REGION_REFORM_DATE = date(2022, 6, 8)
REGION_SPLITS: dict[str, str] = {"KZ-63": "KZ-10", "KZ-19": "KZ-33", "KZ-35": "KZ-62"}  # parent: new region


def region_code(code: str) -> str:
    """An ISO 3166-2:KZ code, the letter codes used before the numeric ones translated (ValueError if unknown)."""
    cleaned = code.strip().upper() if isinstance(code, str) else code
    return check_region(_LEGACY_REGION_CODES.get(cleaned, cleaned))


def region_territory(code: str, on: date) -> frozenset[str]:
    """The present-day regions that `code` covered on `on` (a parent before the 2022 split covers its
    new region too)."""
    code = region_code(code)
    if on < REGION_REFORM_DATE and code in REGION_SPLITS:
        return frozenset({code, REGION_SPLITS[code]})
    return frozenset({code})


def _country_zones(country_alpha3: str) -> list[str]:
    country = pycountry.countries.get(alpha_3=country_alpha3) if country_alpha3 else None
    zones = get_global("territory_zones").get(country.alpha_2, []) if country else []
    return [zone for zone in zones if zone != "Etc/Unknown"]


def default_timezone(country_alpha3: str) -> str:
    """The IANA zone most people in the country use; "UTC" for an unknown country."""
    code = (country_alpha3 or "").strip().upper()
    return _MAIN_ZONE.get(code) or next(iter(_country_zones(code)), "UTC")


def timezone_choices(country_alpha3: str) -> list[str]:
    """The country's IANA zones, its default first; ["UTC"] for an unknown country."""
    default = default_timezone(country_alpha3)
    return [default, *sorted(set(_country_zones((country_alpha3 or "").strip().upper())) - {default})]


def utc_offset(tz_name: str, at: datetime | None = None) -> float:
    """Hours ahead of UTC in `tz_name` at `at` (default: now; a naive `at` is read as UTC)."""
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError) as exc:
        raise ValueError(
            f"Unknown time zone {tz_name!r}: expected an IANA name such as 'Asia/Almaty' or 'Europe/Berlin'."
        ) from exc
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(zone).utcoffset() or timedelta()).total_seconds() / 3600
