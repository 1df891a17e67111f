"""The curated code lists: complete, consistent, and helpful when a value is wrong. No database."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pycountry
import pytest

from diaspora import vocabularies as v

LABELLED = {
    "ISCED_BROAD": v.ISCED_BROAD,
    "ISCED_FIELDS": v.ISCED_FIELDS,
    "ISCO_MAJOR_GROUPS": v.ISCO_MAJOR_GROUPS,
    "KZ_REGIONS": v.KZ_REGIONS,
    "SKILLS": {slug: skill.labels for slug, skill in v.SKILLS.items()},
}
KAZAKH_ONLY_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
# The regions created in 2022 keep their Kazakh spelling in official Russian: "Область Жетісу", "Область Ұлытау".
KAZAKH_NAMES_IN_RUSSIAN = {"KZ-33", "KZ-62"}


@pytest.mark.parametrize("name", LABELLED)
def test_every_code_has_all_three_labels(name):
    for code, labels in LABELLED[name].items():
        assert set(labels) == {"kk", "ru", "en"}, code
        assert all(label.strip() for label in labels.values()), code


@pytest.mark.parametrize("name", LABELLED)
@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_labels_are_distinct_within_a_list(name, language):
    labels = [entry[language] for entry in LABELLED[name].values()]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("name", LABELLED)
def test_kazakh_and_russian_labels_are_cyrillic_and_not_swapped(name):
    for code, labels in LABELLED[name].items():
        assert re.search("[а-яё]", labels["kk"].lower()), code
        assert re.search("[а-яё]", labels["ru"].lower()), code
        if code not in KAZAKH_NAMES_IN_RUSSIAN:
            assert not KAZAKH_ONLY_LETTERS & set(labels["ru"]), code


def test_isced_has_eleven_broad_fields_each_with_narrow_fields():
    assert list(v.ISCED_BROAD) == [f"{n:02d}" for n in range(11)]
    assert {v.broad_of(code) for code in v.ISCED_FIELDS} == set(v.ISCED_BROAD)
    assert all(re.fullmatch(r"\d{3}", code) for code in v.ISCED_FIELDS)


def test_every_skill_belongs_to_a_known_narrow_field():
    assert {skill.field for skill in v.SKILLS.values()} <= set(v.ISCED_FIELDS)


def test_skill_slugs_are_lowercase_ascii_with_hyphens():
    for slug, skill in v.SKILLS.items():
        assert skill.slug == slug
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)


def test_the_region_list_equals_pycountrys_kazakhstan_subdivisions():
    assert set(v.KZ_REGIONS) == {s.code for s in pycountry.subdivisions.get(country_code="KZ")}


def test_labels_come_in_the_asked_language():
    assert v.field_label("053", "ru") == "Физические науки"
    assert v.occupation_label("2", "en") == "Professionals"
    assert v.skill_label("hydrology", "kk") == "Гидрология"
    assert v.region_label("KZ-55", "ru") == "Павлодарская область"
    assert v.region_label("KZ-55", "kk") == "Павлодар облысы"


def test_labels_accept_django_style_language_codes():
    assert v.region_label("KZ-71", "kk-kz") == "Астана"
    assert v.field_label("042", "ru_RU") == "Право"


def test_labels_fall_back_to_english_then_to_the_code():
    assert v.skill_label("gis", "de") == "Geographic information systems (GIS)"
    assert v.field_label("999", "kk") == "999"
    assert v.occupation_label("X", "ru") == "X"
    assert v.skill_label("no-such-skill", "en") == "no-such-skill"
    assert v.region_label("KZ-AST", "en") == "KZ-AST"


def test_field_label_also_names_broad_fields():
    assert v.field_label("05", "en") == "Natural sciences, mathematics and statistics"


def test_broad_of_maps_narrow_to_broad_and_unknown_to_blank():
    assert v.broad_of("053") == "05"
    assert v.broad_of("101") == "10"
    assert v.broad_of("05") == "05"
    assert v.broad_of("999") == ""


def test_skills_for_field_takes_narrow_or_broad_codes():
    assert "hydrology" in v.skills_for_field("053")
    assert "water-resources-management" not in v.skills_for_field("053")
    assert {"hydrology", "water-resources-management", "statistics"} <= set(v.skills_for_field("05"))
    assert v.skills_for_field("") == ()
    assert v.skills_for_field("999") == ()


def test_skill_choices_follow_the_kazakh_alphabet():
    labels = [label for _, label in v.skill_choices("kk")]
    # Plain sorted() would put Қ after Я; in Kazakh it sits between К and Л.
    assert labels.index("Кәсіпкерлік") < labels.index("Қаржы") < labels.index("Логистика")
    assert len(labels) == len(v.SKILLS)


def test_skill_choices_in_english_are_alphabetical():
    labels = [label for _, label in v.skill_choices("en")]
    assert labels == sorted(labels, key=str.casefold)


def test_language_labels_come_from_babel():
    assert v.language_label("de", "kk") == "Неміс тілі"  # capitalised like every other label
    assert v.language_label("kk", "ru") == "Казахский"
    assert v.language_label("kk", "en") == "Kazakh"


def test_language_label_falls_back_to_english_then_the_code():
    assert v.language_label("kk", "xx") == "Kazakh"
    assert v.language_label("qq", "en") == "qq"


def test_every_offered_language_has_a_babel_name_in_each_label_language():
    for code in v.LANGUAGES:
        assert all(v.language_label(code, lang) != code for lang in v.LABEL_LANGUAGES), code


def test_check_skills_normalises_dedupes_and_keeps_order():
    assert v.check_skills(["GIS", "hydrology", "gis", "Machine learning"]) == ("gis", "hydrology", "machine-learning")


def test_check_skills_names_the_bad_slug_and_suggests_close_ones():
    with pytest.raises(ValueError, match=r"'hydrolgy' \(did you mean 'hydrology'\?\)"):
        v.check_skills(["gis", "hydrolgy"])


def test_check_skills_suggests_a_slug_for_a_label_in_another_language():
    with pytest.raises(ValueError, match=r"'Гидрологя' \(did you mean 'hydrology'\?\)"):
        v.check_skills(["Гидрологя"])


def test_check_skills_lists_every_unknown_slug_even_without_suggestions():
    with pytest.raises(ValueError, match="Unknown skills: .*'zzzz'.*'qqqq'"):
        v.check_skills(["zzzz", "qqqq"])


def test_check_skills_treats_a_lone_string_as_one_slug():
    assert v.check_skills("gis") == ("gis",)


def test_check_field_accepts_narrow_fields():
    assert v.check_field("053") == "053"


def test_check_field_rejects_a_broad_field_and_lists_its_narrow_ones():
    with pytest.raises(ValueError, match=r"'05' is a broad field .*051, 052, 053, 054, 058"):
        v.check_field("05")


def test_check_field_suggests_the_narrow_field_of_a_detailed_code():
    with pytest.raises(ValueError, match=r"'0532'.*Did you mean '053'"):
        v.check_field("0532")


def test_check_occupation_rejects_a_full_isco_code_and_suggests_its_major_group():
    assert v.check_occupation("2") == "2"
    with pytest.raises(ValueError, match=r"'2211'.*Did you mean '2' \(Professionals\)"):
        v.check_occupation("2211")


def test_check_languages_normalises_and_dedupes():
    assert v.check_languages(["KK", "en-GB", "en", "ru"]) == ("kk", "en", "ru")


def test_check_languages_suggests_kk_for_the_country_code_kz():
    with pytest.raises(ValueError, match=r"'kz' \(did you mean 'kk'\?\).*ISO 639-1 codes from: kk, ru, en"):
        v.check_languages(["ru", "kz"])


def test_check_languages_suggests_a_code_for_a_language_name():
    with pytest.raises(ValueError, match=r"'German' \(did you mean 'de'\?\)"):
        v.check_languages(["German"])


def test_check_region_accepts_lower_case_codes():
    assert v.check_region("kz-55") == "KZ-55"


def test_check_region_maps_a_pre_reform_letter_code_to_its_numeric_code():
    with pytest.raises(ValueError, match=r"'KZ-AST' \(did you mean 'KZ-71'\?\)"):
        v.check_region("KZ-AST")


def test_check_region_suggests_a_code_for_a_region_name():
    with pytest.raises(ValueError, match=r"'Pavlodar' \(did you mean 'KZ-55'\?\)"):
        v.check_region("Pavlodar")


def test_utc_offset_of_berlin_is_one_hour_in_january_and_two_in_july():
    assert v.utc_offset("Europe/Berlin", datetime(2025, 1, 15, 12, tzinfo=UTC)) == 1.0
    assert v.utc_offset("Europe/Berlin", datetime(2025, 7, 15, 12, tzinfo=UTC)) == 2.0


def test_utc_offset_reads_a_naive_moment_as_utc():
    # 2025-03-30 01:30 UTC is after Berlin's spring-forward at 01:00 UTC.
    assert v.utc_offset("Europe/Berlin", datetime(2025, 3, 30, 1, 30)) == 2.0


def test_utc_offset_handles_half_hour_zones():
    assert v.utc_offset("Asia/Kolkata", datetime(2025, 1, 1, tzinfo=UTC)) == 5.5


def test_all_of_kazakhstan_is_utc_plus_five_since_march_2024():
    at = datetime(2025, 1, 15, tzinfo=UTC)
    assert {v.utc_offset(zone, at) for zone in v.timezone_choices("KAZ")} == {5.0}


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "Europe", "../etc/passwd"])
def test_utc_offset_rejects_an_unknown_zone_naming_it(bad):
    with pytest.raises(ValueError, match=re.escape(f"Unknown time zone {bad!r}")):
        v.utc_offset(bad)


def test_default_timezone_of_a_single_zone_country():
    assert v.default_timezone("DEU") == "Europe/Berlin"
    assert v.default_timezone("fra") == "Europe/Paris"


def test_default_timezone_of_a_big_multi_zone_country_is_where_most_people_live():
    assert v.default_timezone("USA") == "America/New_York"
    assert v.default_timezone("RUS") == "Europe/Moscow"
    assert v.default_timezone("KAZ") == "Asia/Almaty"


def test_default_timezone_of_an_unknown_country_is_utc():
    assert v.default_timezone("XYZ") == "UTC"
    assert v.default_timezone("") == "UTC"
    assert v.timezone_choices("XYZ") == ["UTC"]


def test_timezone_choices_start_with_the_default():
    zones = v.timezone_choices("USA")
    assert zones[0] == "America/New_York"
    assert "America/Los_Angeles" in zones
    assert len(zones) == len(set(zones))


def test_every_countrys_zones_exist_in_the_installed_tz_database():
    for country in pycountry.countries:
        for zone in v.timezone_choices(country.alpha_3):
            ZoneInfo(zone)
