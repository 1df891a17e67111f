"""Country groups as data, and sums that refuse to add flows to stocks."""

import pandas as pd
import pytest

from analytics.models import CountryGroupScheme
from analytics.official.frames import MixedFlowError, aggregate
from analytics.official.groups import country_group_map, group_of, group_upload, platform_schemes_load


@pytest.fixture
def schemes(db):
    platform_schemes_load()


def test_cis_as_the_bureau_counts_it(schemes):
    cis = country_group_map("bns-cis")
    members = {country for country, group in cis.items() if group == "CIS"}
    assert members == {"ARM", "AZE", "BLR", "KAZ", "KGZ", "MDA", "RUS", "TJK", "UZB", "TKM", "UKR"}
    assert cis["GEO"] == "NON_CIS" and cis["DEU"] == "NON_CIS"


def test_hdi_tiers_follow_the_report(schemes):
    hdi = country_group_map("hdi-2021")
    assert (hdi["CHE"], hdi["KAZ"], hdi["UZB"]) == ("VERY_HIGH", "VERY_HIGH", "HIGH")
    assert sorted(pd.Series(hdi).value_counts().tolist()) == [32, 44, 49, 66]


def test_un_m49_regions(schemes):
    assert group_of("KAZ", "un-m49-subregion") == "143"
    assert group_of("rus", "un-m49-region") == "150"
    assert group_of("ATA", "un-m49-region", default="?") == "?"


def test_gtci_top25_by_edition(schemes):
    assert group_of("CHE", "gtci-top25-2023") == "TOP25"
    assert group_of("KAZ", "gtci-top25-2023") == "OTHER"
    assert group_of("KAZ", "gtci-top25-2020") is None


def test_platform_schemes_load_twice_changes_nothing(schemes):
    assert platform_schemes_load() == 0


def test_an_uploaded_grouping_belongs_to_its_programme(designer, bolashak):
    content = b"scheme,group_code,country,label\nBolashak hosts,RUS,RUS,Russia\nBolashak hosts,OECD,DEU,OECD\n"
    report = group_upload(content=content, file_name="hosts.csv", uploaded_by=designer, programme=bolashak)
    assert report == {"ok": True, "schemes": ["bolashak-hosts"], "issues": []}
    assert country_group_map("bolashak-hosts", programme=bolashak) == {"RUS": "RUS", "DEU": "OECD"}
    assert country_group_map("bolashak-hosts") == {}


def test_an_upload_with_a_bad_country_saves_nothing(designer):
    content = b"scheme,group_code,country,label\nMine,A,RUS,A\nMine,B,XXX,B\nMine,B,RUS,B\n"
    report = group_upload(content=content, file_name="mine.csv", uploaded_by=designer)
    assert not report["ok"]
    assert [i["row"] for i in report["issues"]] == [3, 4]
    assert "'XXX'" in report["issues"][0]["message"]
    assert not CountryGroupScheme.objects.exists()


def frame(*rows):
    return pd.DataFrame(rows, columns=["counterpart_area", "flow", "obs_value", "unit_measure", "unit_mult"])


def test_aggregate_sums_in_units():
    summed = aggregate(frame(("RUS", "OUT", 9.875, "PS", 3), ("DEU", "OUT", 1332, "PS", 0)), by=["flow"])
    assert summed["value"].tolist() == [11207.0]


def test_aggregate_refuses_to_add_a_flow_to_a_stock():
    with pytest.raises(MixedFlowError):
        aggregate(frame(("RUS", "OUT", 9875, "PS", 0), ("RUS", "STOCK", 71400, "PS", 0)), by=["counterpart_area"])


def test_aggregate_refuses_mixed_units():
    with pytest.raises(MixedFlowError):
        aggregate(frame(("RUS", "OUT", 9875, "PS", 0), ("RUS", "OUT", 80, "PT", 0)), by=["flow"])
