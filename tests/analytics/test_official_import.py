"""Importing official statistics: the seed file's known cases, malformed files, formats, all or nothing."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from analytics.models import Observation, OfficialImport, Vintage
from analytics.official.groups import DATA_DIR
from analytics.official.selectors import observations_frame
from analytics.official.services import official_import, official_seed_load

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
HEADER = (
    "indicator_code,indicator_name,ref_area,counterpart_area,flow,time_period,sex,age,education,specialty,scope,"
    "obs_value,unit_measure,unit_mult,obs_status,source_org,source_type,source,comment\n"
)
GOOD = "EMIG_PERM,Departures,KAZ,_T,OUT,2024,_T,_T,_T,_T,_T,12784,PS,0,A,BNS,secondary_press,test,\n"


def line(**changes: str) -> str:
    """The GOOD row with some columns changed."""
    columns = HEADER.strip().split(",")
    values = dict(zip(columns, GOOD.strip("\n").split(","), strict=True)) | changes
    return ",".join(values[c] for c in columns) + "\n"


def csv_file(*lines: str) -> bytes:
    return (HEADER + "".join(lines)).encode()


def imported(content: bytes, name: str = "upload.csv", **kwargs):
    return official_import(content=content, file_name=name, **kwargs)


def errors_of(result) -> list[dict]:
    return [i for i in result.report["issues"] if i["level"] == "error"]


@pytest.fixture
def seed():
    official_seed_load()


def test_seed_flags_1991_population_urban_plus_rural(seed):
    total = Observation.objects.get(indicator_code="POP", time_period="1991", scope="_T")
    rural = Observation.objects.get(indicator_code="POP", time_period="1991", scope="RURAL")
    assert [f["code"] for f in total.flags] == ["components_short_of_total"]
    assert "16,358.2" in total.flags[0]["message"] and "16,451.7" in total.flags[0]["message"]
    assert rural.flags == total.flags


def test_seed_does_not_flag_the_partial_2022_s1_destination_breakdown(seed):
    rows = Observation.objects.filter(indicator_code="EMIG_PERM", time_period="2022-S1", flow="OUT")
    assert rows.count() > 12
    assert all(row.flags == [] for row in rows)
    report = OfficialImport.objects.get().report
    notes = [i for i in report["issues"] if i["code"] == "partial_breakdown" and "EMIG_PERM" in i["message"]]
    assert any("12,116 of 12,344" in n["message"] for n in notes)


def test_seed_keeps_both_2023_departure_figures_with_their_statuses(seed):
    rows = Observation.objects.filter(indicator_code="EMIG_PERM", time_period="2023", counterpart_area="_T")
    values = {(row.obs_value, row.obs_status, row.vintage.rank) for row in rows}
    assert values == {(Decimal("16094"), "A", 1), (Decimal("12732"), "E", 2)}
    assert all(row.flags[0]["code"] == "conflicting_value" for row in rows)


def test_seed_internal_migration_adds_up_every_year(seed):
    flagged = Observation.objects.filter(indicator_code="MIGR_INTERNAL").exclude(flags=[])
    assert not flagged.exists()


def test_latest_vintage_by_default_and_every_vintage_on_request(seed):
    latest = observations_frame(indicator="EMIG_PERM", time_period="2023", counterpart_area="_T")
    both = observations_frame(indicator="EMIG_PERM", time_period="2023", counterpart_area="_T", all_vintages=True)
    assert latest["obs_value"].tolist() == [16094.0]
    assert sorted(both["obs_status"]) == ["A", "E"]
    second = Vintage.objects.get(rank=2)
    assert observations_frame(vintage=second.pk)["obs_value"].tolist() == [12732.0]


def test_seed_load_twice_adds_nothing():
    first = official_seed_load()
    counts = (Observation.objects.count(), Vintage.objects.count(), OfficialImport.objects.count())
    second = official_seed_load()
    assert first["observations"] == 190 and first["schemes_changed"] > 0
    assert second == {"observations": 0, "schemes_changed": 0}
    assert (Observation.objects.count(), Vintage.objects.count(), OfficialImport.objects.count()) == counts


def test_load_official_command_runs(capsys):
    call_command("load_official")
    assert "190 observations added" in capsys.readouterr().out


def test_the_platform_ships_its_own_copy_of_the_seed_data():
    for name in ("kz_official_statistics.csv", "hdi_2021.csv", "gtci_ranks.csv", "un_m49_regions.csv", "bns_cis.csv"):
        assert (DATA_DIR / name).is_file()


def test_it_names_an_unknown_country_code():
    result = imported(csv_file(GOOD.replace(",_T,OUT", ",XYZ,OUT")))
    [error] = errors_of(result)
    assert error["row"] == 2 and error["column"] == "counterpart_area" and "'XYZ'" in error["message"]


def test_it_names_a_bad_period():
    result = imported(csv_file(GOOD.replace(",2024,", ",2024-H1,")))
    [error] = errors_of(result)
    assert error["column"] == "time_period" and "'2024-H1'" in error["message"]


@pytest.mark.parametrize("period", ["2024", "2024-S2", "2024-Q3", "2024-11", "2012/2021"])
def test_it_accepts_each_period_form(period):
    assert imported(csv_file(GOOD.replace(",2024,", f",{period},"))).ok


def test_it_names_a_non_numeric_value():
    result = imported(csv_file(GOOD.replace(",12784,", ",about 12 thousand,")))
    [error] = errors_of(result)
    assert error["column"] == "obs_value" and "'about 12 thousand'" in error["message"]


def test_it_names_an_unknown_flow():
    result = imported(csv_file(GOOD.replace(",OUT,", ",EXIT,")))
    [error] = errors_of(result)
    assert error["column"] == "flow" and "'EXIT'" in error["message"]


def test_it_names_an_unknown_status():
    result = imported(csv_file(GOOD.replace(",A,BNS", ",Z,BNS")))
    [error] = errors_of(result)
    assert error["column"] == "obs_status" and "'Z'" in error["message"]


def test_it_refuses_a_file_not_in_utf8_with_a_clear_message():
    content = csv_file(GOOD.replace(",test,", ",Бюро национальной статистики,")).decode().encode("cp1251")
    result = imported(content)
    [error] = errors_of(result)
    assert error["code"] == "file" and "UTF-8" in error["message"] and error["row"] is None


def test_it_reads_utf8_with_a_byte_order_mark():
    assert imported("\ufeff".encode() + csv_file(GOOD)).ok


def test_a_file_with_one_bad_row_writes_nothing():
    result = imported(csv_file(GOOD, line(time_period="2023", ref_area="KAZAKHSTAN")))
    assert not result.ok and result.report["rows_written"] == 0
    assert [e["row"] for e in errors_of(result)] == [3]
    assert not Observation.objects.exists() and not OfficialImport.objects.exists()


def test_a_row_longer_than_the_header_is_an_error():
    result = imported(csv_file(GOOD.replace("\n", ",surplus\n")))
    assert "more values" in errors_of(result)[0]["message"]


def test_it_refuses_an_exact_copy_of_a_row():
    result = imported(csv_file(GOOD, GOOD))
    assert [e["code"] for e in errors_of(result)] == ["duplicate_row"]


def test_the_same_file_twice_is_imported_once():
    assert imported(csv_file(GOOD)).ok
    again = imported(csv_file(GOOD))
    assert not again.ok and again.report["duplicate_of"] == OfficialImport.objects.get().pk
    assert Observation.objects.count() == 1


def test_a_later_file_revising_a_figure_is_a_later_vintage():
    imported(csv_file(GOOD))
    imported(csv_file(GOOD.replace("12784", "12800").replace(",A,BNS", ",P,BNS")), name="revised.csv")
    frame = observations_frame(indicator="EMIG_PERM", all_vintages=True)
    assert sorted(frame["obs_value"]) == [12784.0, 12800.0]
    assert observations_frame(indicator="EMIG_PERM")["obs_value"].tolist() == [12800.0]


def test_components_above_a_partial_total_are_flagged():
    result = imported(csv_file(GOOD, line(counterpart_area="RUS", obs_value="13000")))
    assert [i["code"] for i in result.report["issues"] if i["level"] == "warning"] == ["components_exceed_total"]
    assert result.official_import.status == OfficialImport.Status.WARNINGS


def test_a_complete_breakdown_short_of_its_total_is_flagged():
    result = imported(csv_file(GOOD, line(sex="M", obs_value="6000"), line(sex="F", obs_value="6000")))
    assert [i["code"] for i in result.report["issues"]] == ["components_short_of_total"]


def test_rounding_is_within_tolerance():
    total = line(obs_value="12.8", unit_mult="3")
    men = line(sex="M", obs_value="6.4", unit_mult="3")
    women = line(sex="F", obs_value="6.3", unit_mult="3")
    result = imported(csv_file(total, men, women))
    assert result.ok and result.report["warnings"] == 0


def test_it_imports_an_xlsx_workbook():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        ["EMIG_PERM", "Departures", "KAZ", "_T", "OUT", 2024, "_T", "_T", "_T", "_T", "_T", 12784, "PS", 0, "A"]
    )
    sheet.append(
        ["POP", "Population", "KAZ", "_T", "STOCK", "1991", "_T", "_T", "_T", "_T", "_T", 16451.7, "PS", 3, "A"]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = imported(buffer.getvalue(), name="bulletin.xlsx")
    assert result.ok and result.report["format"] == "xlsx"
    pop = Observation.objects.get(indicator_code="POP")
    assert pop.obs_value == Decimal("16451.7") and pop.unit_mult == 3 and pop.time_period == "1991"


def test_a_broken_workbook_is_a_file_error():
    result = imported(b"PK\x03\x04 not really a workbook", name="broken.xlsx")
    assert errors_of(result)[0]["code"] == "file"


def test_it_imports_sdmx_ml_through_sdmx1():
    result = imported((DATA / "sdmx_generic.xml").read_bytes(), name="sdmx_generic.xml")
    assert result.ok, result.report
    assert result.report["format"] == "sdmx_ml" and result.report["dataset"] == "DSD_MIGR"
    rus = Observation.objects.get(counterpart_area="RUS")
    assert (rus.indicator_code, rus.flow, rus.time_period, rus.obs_value) == ("EMIG_PERM", "OUT", "2022-S1", 9875)
    assert rus.sex == "_T" and rus.obs_status == "A"


def test_it_imports_sdmx_csv_through_sdmx1():
    result = imported((DATA / "sdmx_data.csv").read_bytes(), name="sdmx_data.csv")
    assert result.ok, result.report
    assert result.report["format"] == "sdmx_csv" and result.report["dataset"] == "KELU_DSD_MIGR_1_0"
    uzb = Observation.objects.get(counterpart_area="UZB")
    assert (uzb.flow, uzb.time_period, uzb.obs_value) == ("IN", "2022-S1", 3418)
    assert uzb.comment == "Bureau of National Statistics, as reported by the press"
    assert Observation.objects.count() == 4


def test_sdmx_rows_are_validated_like_any_other():
    content = (DATA / "sdmx_data.csv").read_bytes().replace(b",UZB,", b",UZBEK,")
    result = imported(content, name="sdmx_data.csv")
    assert not result.ok and "'UZBEK'" in errors_of(result)[0]["message"]
    assert not Observation.objects.exists()


def test_sdmx_csv_1_is_refused_with_a_reason():
    result = imported(
        b"DATAFLOW,REF_AREA,TIME_PERIOD,OBS_VALUE\nX:Y(1.0),KAZ,2020,1\n", name="v1.csv", file_format="sdmx_csv"
    )
    assert "SDMX-CSV 1.0" in errors_of(result)[0]["message"]


def test_the_committed_dsd_is_the_one_the_code_builds():
    import sdmx

    from analytics.official.sdmx import kelu_dsd

    committed = sdmx.read_sdmx(DATA_DIR / "sdmx" / "kelu_dsd.xml").structure["DSD_MIGR"]
    built = kelu_dsd()
    assert [d.id for d in committed.dimensions] == [d.id for d in built.dimensions]
    assert [a.id for a in committed.attributes] == [a.id for a in built.attributes]


def test_a_net_flow_breakdown_is_checked_only_when_complete():
    net = line(flow="NET", obs_value="-100")
    partial = line(flow="NET", counterpart_area="RUS", obs_value="-300")
    assert imported(csv_file(net, partial)).report["issues"] == []
