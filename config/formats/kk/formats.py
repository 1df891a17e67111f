"""Kazakh formats. Django has none, so Kazakh pages fell back to English ones: "Қар. 30, 2026"
(English order) and "3:04 Т.Қ." (a 12-hour clock). Kazakhstan writes 30.11.2026 and 15:04.

A numeric date also stands inside a sentence without a case ending ("Жауап беру мерзімі: 30.11.2026").
"""

DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "d.m.Y H:i"
YEAR_MONTH_FORMAT = "m.Y"
MONTH_DAY_FORMAT = "d.m"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = [
    "%d.%m.%Y",  # '30.11.2026'
    "%d.%m.%y",  # '30.11.26'
    "%Y-%m-%d",  # '2026-11-30' (what <input type="date"> sends)
]
TIME_INPUT_FORMATS = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]
DATETIME_INPUT_FORMATS = [
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"  # non-breaking space
NUMBER_GROUPING = 3
