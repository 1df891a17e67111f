"""Country groups as data: which group of a scheme a country (ISO alpha-3) falls in.

The platform's schemes come from files under `analytics/data/` (see its README):

- `un-m49-region`, `un-m49-subregion`: UN M49 (un_m49_regions.csv);
- `bns-cis`: CIS / NON_CIS as the Bureau reports migration (bns_cis.csv);
- `hdi-2021`: the HDR 2021/2022 tiers VERY_HIGH, HIGH, MEDIUM, LOW (hdi_2021.csv);
- `gtci-top25-<edition>`: TOP25 / OTHER for the countries ranked in that GTCI edition
  (gtci_ranks.csv; unranked countries are in no group).

Administrators upload more as CSV: scheme, group_code, country, label.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..models.official import CountryGroupMember, CountryGroupScheme
from . import codes
from .reading import FileError, decode_text

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
HDI_SOURCE = "UNDP, Human Development Report 2021/2022, statistical annex table 1"
GTCI_TOP = 25


def country_group_map(scheme_slug: str, *, programme=None) -> dict[str, str]:
    """{alpha-3: group code} for one scheme (a platform scheme unless `programme` is given)."""
    members = CountryGroupMember.objects.filter(scheme__slug=scheme_slug, scheme__programme=programme)
    return dict(members.values_list("country", "group_code"))


def group_labels(scheme_slug: str, *, programme=None) -> dict[str, str]:
    """{group code: label} for one scheme."""
    members = CountryGroupMember.objects.filter(scheme__slug=scheme_slug, scheme__programme=programme)
    return dict(members.values_list("group_code", "group_label").distinct())


def group_of(country: str, scheme_slug: str, *, programme=None, default: str | None = None) -> str | None:
    """The group code of `country` in the scheme, or `default` when the scheme does not place it."""
    members = CountryGroupMember.objects.filter(
        scheme__slug=scheme_slug, scheme__programme=programme, country=country.upper()
    )
    return members.values_list("group_code", flat=True).first() or default


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def platform_schemes() -> list[dict]:
    """The shipped schemes as {slug, name, source, members: [(country, group_code, label)]}."""
    m49 = _rows("un_m49_regions.csv")
    m49_source = "UN Statistics Division, M49 (https://unstats.un.org/unsd/methodology/m49/)"
    schemes = [
        {
            "slug": "un-m49-region",
            "name": gettext_noop("UN M49 region"),
            "source": m49_source,
            "members": [(r["iso3"], r["region_code"], r["region"]) for r in m49],
        },
        {
            "slug": "un-m49-subregion",
            "name": gettext_noop("UN M49 sub-region"),
            "source": m49_source,
            "members": [(r["iso3"], r["subregion_code"], r["subregion"]) for r in m49],
        },
        {
            "slug": "bns-cis",
            "name": gettext_noop("CIS / non-CIS (as the Bureau of National Statistics reports)"),
            "source": "analytics/data/bns_cis.csv (see analytics/data/README.md)",
            "members": [(r["iso3"], r["group_code"], r["group_label"]) for r in _rows("bns_cis.csv")],
        },
        {
            "slug": "hdi-2021",
            "name": gettext_noop("Human development tier (HDI 2021)"),
            "source": HDI_SOURCE,
            "members": [
                (r["ref_area"], r["hdi_tier"], r["hdi_tier"].replace("_", " ").capitalize())
                for r in _rows("hdi_2021.csv")
            ],
        },
    ]
    destination = _rows("destination_groups.csv")
    schemes.append(
        {
            "slug": "destination-4",
            "name": gettext_noop("Destination: Russia / other CIS / OECD / other"),
            "source": "analytics/data/destination_groups.csv: CIS members as the Bureau reports them, OECD members "
            "(38, 2026); every other country is 'other' (name it as the margin's other group)",
            "members": [(r["country"], r["group_code"], r["label"]) for r in destination],
        }
    )
    by_edition = defaultdict(list)
    for row in _rows("gtci_ranks.csv"):
        top = int(row["rank"]) <= GTCI_TOP
        by_edition[row["edition"]].append(
            (row["iso3"], "TOP25" if top else "OTHER", "Top 25" if top else "Ranked below 25")
        )
    for edition, members in sorted(by_edition.items()):
        schemes.append(
            {
                "slug": f"gtci-top25-{edition}",
                "name": f"GTCI {edition}: top 25",
                "source": f"INSEAD Global Talent Competitiveness Index {edition}, partial (analytics/data/gtci_ranks.csv)",
                "members": members,
            }
        )
    return schemes


@transaction.atomic
def scheme_save(*, slug: str, name: str, source: str, members, programme=None, uploaded_by=None) -> bool:
    """Create or replace one scheme; returns False when it was already exactly so (nothing written)."""
    scheme = CountryGroupScheme.objects.filter(slug=slug, programme=programme).first()
    wanted = {(c, g, label) for c, g, label in members}
    if scheme is not None:
        current = set(scheme.members.values_list("country", "group_code", "group_label"))
        if current == wanted and scheme.name == name and scheme.source == source:
            return False
        scheme.members.all().delete()
        scheme.name, scheme.source, scheme.uploaded_by = name, source, uploaded_by or scheme.uploaded_by
        scheme.save()
    else:
        scheme = CountryGroupScheme.objects.create(
            slug=slug, name=name, source=source, programme=programme, uploaded_by=uploaded_by
        )
    CountryGroupMember.objects.bulk_create(
        [
            CountryGroupMember(scheme=scheme, country=c, group_code=g, group_label=label)
            for c, g, label in sorted(wanted)
        ]
    )
    return True


def platform_schemes_load() -> int:
    """Create or update the shipped schemes; returns how many changed (0 on a second run)."""
    return sum(scheme_save(**scheme) for scheme in platform_schemes())


def parse_group_upload(content: bytes) -> tuple[dict[str, dict], list[dict]]:
    """An uploaded grouping (CSV: scheme, group_code, country, label) -> ({slug: scheme}, errors)."""
    text = decode_text(content)
    reader = csv.DictReader(text.splitlines())
    header = {h.strip().lower() for h in reader.fieldnames or []}
    missing = {"scheme", "group_code", "country"} - header
    if missing:
        raise FileError(_("Columns missing from the header: %(columns)s.") % {"columns": ", ".join(sorted(missing))})
    schemes: dict[str, dict] = {}
    seen: dict[tuple[str, str], int] = {}
    errors = []
    for raw in reader:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        line = reader.line_num
        name, group, country = row.get("scheme", ""), row.get("group_code", "").upper(), row.get("country", "").upper()
        slug = slugify(name)[:80]
        problem = None
        if not slug or not group:
            problem = _("scheme and group_code are required")
        elif country not in codes.countries():
            problem = _("country: unknown country code %(value)r (expected ISO 3166-1 alpha-3)") % {"value": country}
        elif (slug, country) in seen:
            problem = _("country %(value)s is already in scheme %(scheme)s (row %(row)s)") % {
                "value": country,
                "scheme": name,
                "row": seen[(slug, country)],
            }
        if problem:
            errors.append({"level": "error", "row": line, "message": problem})
            continue
        seen[(slug, country)] = line
        scheme = schemes.setdefault(slug, {"slug": slug, "name": name, "members": []})
        scheme["members"].append((country, group, row.get("label", "") or group))
    return schemes, errors


def group_upload(*, content: bytes, file_name: str, uploaded_by, programme=None) -> dict:
    """Save an uploaded grouping, all or nothing; returns {ok, schemes, issues}."""
    try:
        schemes, errors = parse_group_upload(content)
    except FileError as exc:
        return {"ok": False, "schemes": [], "issues": [{"level": "error", "row": None, "message": str(exc)}]}
    if errors or not schemes:
        errors = errors or [{"level": "error", "row": None, "message": _("The file has no rows.")}]
        return {"ok": False, "schemes": [], "issues": errors}
    with transaction.atomic():
        for scheme in schemes.values():
            scheme_save(**scheme, source=file_name, programme=programme, uploaded_by=uploaded_by)
    return {"ok": True, "schemes": sorted(schemes), "issues": []}
