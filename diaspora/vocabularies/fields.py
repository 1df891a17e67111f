"""Field of study (ISCED-F 2013) and occupation (ISCO-08 major groups), labelled in kk/ru/en.

ISCED-F codes are strings with leading zeros: broad "05", narrow "053". The "x8" narrow fields are
the official inter-disciplinary ones (detailed code "xx88"); the "not further defined" (x0) and
"not elsewhere classified" (x9) residual codes are left out on purpose: a person picks a real field.
Russian and Kazakh labels follow the wording of Kazakhstan's classifier of higher-education
programmes, which is built on ISCED-F 2013. The shipped survey instruments use the same wording for
the broad fields and the occupation groups (a survey answer prefills the registry profile).
"""

from __future__ import annotations

from ._labels import Labels, choices, labels, pick

ISCED_BROAD: dict[str, Labels] = {
    "00": labels(
        "Generic programmes and qualifications",
        "Общие программы и квалификации",
        "Жалпы бағдарламалар мен біліктіліктер",
    ),
    "01": labels("Education", "Педагогические науки", "Педагогикалық ғылымдар"),
    "02": labels("Arts and humanities", "Искусство и гуманитарные науки", "Өнер және гуманитарлық ғылымдар"),
    "03": labels(
        "Social sciences, journalism and information",
        "Социальные науки, журналистика и информация",
        "Әлеуметтік ғылымдар, журналистика және ақпарат",
    ),
    "04": labels("Business, administration and law", "Бизнес, управление и право", "Бизнес, басқару және құқық"),
    "05": labels(
        "Natural sciences, mathematics and statistics",
        "Естественные науки, математика и статистика",
        "Жаратылыстану ғылымдары, математика және статистика",
    ),
    "06": labels(
        "Information and communication technologies (ICT)",
        "Информационно-коммуникационные технологии (ИКТ)",
        "Ақпараттық-коммуникациялық технологиялар (АКТ)",
    ),
    "07": labels(
        "Engineering, manufacturing and construction",
        "Инженерные, обрабатывающие и строительные отрасли",
        "Инженерлік, өңдеу және құрылыс салалары",
    ),
    "08": labels(
        "Agriculture, forestry, fisheries and veterinary",
        "Сельское, лесное, рыбное хозяйство и ветеринария",
        "Ауыл, орман, балық шаруашылығы және ветеринария",
    ),
    "09": labels(
        "Health and welfare",
        "Здравоохранение и социальное обеспечение",
        "Денсаулық сақтау және әлеуметтік қамсыздандыру",
    ),
    "10": labels("Services", "Услуги", "Қызмет көрсету"),
}


def _interdisciplinary(en: str, ru: str, kk: str) -> Labels:
    """The official "x8" narrow field of a broad field, named after its domain (ru in the genitive)."""
    return labels(
        f"Inter-disciplinary programmes and qualifications involving {en}",
        f"Междисциплинарные программы и квалификации в области {ru}",
        f"{kk} саласындағы пәнаралық бағдарламалар мен біліктіліктер",
    )


ISCED_FIELDS: dict[str, Labels] = {
    "001": labels(
        "Basic programmes and qualifications",
        "Базовые программы и квалификации",
        "Базалық бағдарламалар мен біліктіліктер",
    ),
    "002": labels("Literacy and numeracy", "Грамотность и навыки счёта", "Сауаттылық және есептеу дағдылары"),
    "003": labels("Personal skills and development", "Личностные навыки и развитие", "Жеке дағдылар және даму"),
    "011": labels("Education", "Образование", "Білім беру"),
    "018": _interdisciplinary("education", "образования", "Білім беру"),
    "021": labels("Arts", "Искусство", "Өнер"),
    "022": labels(
        "Humanities (except languages)", "Гуманитарные науки (кроме языков)", "Гуманитарлық ғылымдар (тілдерден басқа)"
    ),
    "023": labels("Languages", "Языки", "Тілдер"),
    "028": _interdisciplinary(
        "arts and humanities", "искусства и гуманитарных наук", "Өнер және гуманитарлық ғылымдар"
    ),
    "031": labels(
        "Social and behavioural sciences", "Социальные и поведенческие науки", "Әлеуметтік және мінез-құлық ғылымдары"
    ),
    "032": labels("Journalism and information", "Журналистика и информация", "Журналистика және ақпарат"),
    "038": _interdisciplinary(
        "social sciences, journalism and information",
        "социальных наук, журналистики и информации",
        "Әлеуметтік ғылымдар, журналистика және ақпарат",
    ),
    "041": labels("Business and administration", "Бизнес и администрирование", "Бизнес және басқару"),
    "042": labels("Law", "Право", "Құқық"),
    "048": _interdisciplinary(
        "business, administration and law", "бизнеса, администрирования и права", "Бизнес, басқару және құқық"
    ),
    "051": labels(
        "Biological and related sciences", "Биологические и смежные науки", "Биологиялық және сабақтас ғылымдар"
    ),
    "052": labels("Environment", "Окружающая среда", "Қоршаған орта"),
    "053": labels("Physical sciences", "Физические науки", "Физикалық ғылымдар"),
    "054": labels("Mathematics and statistics", "Математика и статистика", "Математика және статистика"),
    "058": _interdisciplinary(
        "natural sciences, mathematics and statistics",
        "естественных наук, математики и статистики",
        "Жаратылыстану ғылымдары, математика және статистика",
    ),
    "061": labels(
        "Information and Communication Technologies (ICTs)",
        "Информационно-коммуникационные технологии (ИКТ)",
        "Ақпараттық-коммуникациялық технологиялар (АКТ)",
    ),
    "068": _interdisciplinary(
        "Information and Communication Technologies (ICTs)",
        "информационно-коммуникационных технологий (ИКТ)",
        "Ақпараттық-коммуникациялық технологиялар (АКТ)",
    ),
    "071": labels("Engineering and engineering trades", "Инженерия и инженерное дело", "Инженерия және инженерлік іс"),
    "072": labels(
        "Manufacturing and processing", "Производственные и обрабатывающие отрасли", "Өндірістік және өңдеу салалары"
    ),
    "073": labels("Architecture and construction", "Архитектура и строительство", "Сәулет және құрылыс"),
    "078": _interdisciplinary(
        "engineering, manufacturing and construction",
        "инженерных, обрабатывающих и строительных отраслей",
        "Инженерлік, өңдеу және құрылыс",
    ),
    "081": labels("Agriculture", "Сельское хозяйство", "Ауыл шаруашылығы"),
    "082": labels("Forestry", "Лесное хозяйство", "Орман шаруашылығы"),
    "083": labels("Fisheries", "Рыбное хозяйство", "Балық шаруашылығы"),
    "084": labels("Veterinary", "Ветеринария", "Ветеринария"),
    "088": _interdisciplinary(
        "agriculture, forestry, fisheries and veterinary",
        "сельского, лесного, рыбного хозяйства и ветеринарии",
        "Ауыл, орман, балық шаруашылығы және ветеринария",
    ),
    "091": labels("Health", "Здравоохранение", "Денсаулық сақтау"),
    "092": labels("Welfare", "Социальное обеспечение", "Әлеуметтік қамсыздандыру"),
    "098": _interdisciplinary(
        "health and welfare",
        "здравоохранения и социального обеспечения",
        "Денсаулық сақтау және әлеуметтік қамсыздандыру",
    ),
    "101": labels("Personal services", "Услуги для населения", "Халыққа қызмет көрсету"),
    "102": labels("Hygiene and occupational health services", "Гигиена и охрана труда", "Гигиена және еңбекті қорғау"),
    "103": labels("Security services", "Услуги в сфере безопасности", "Қауіпсіздік қызметтері"),
    "104": labels("Transport services", "Транспортные услуги", "Көлік қызметтері"),
    "108": _interdisciplinary("services", "услуг", "Қызмет көрсету"),
}

ISCO_MAJOR_GROUPS: dict[str, Labels] = {
    "0": labels("Armed forces occupations", "Военнослужащие", "Әскери қызметшілер"),
    "1": labels("Managers", "Руководители", "Басшылар"),
    "2": labels("Professionals", "Специалисты-профессионалы", "Кәсіби мамандар"),
    "3": labels(
        "Technicians and associate professionals",
        "Специалисты-техники и иной вспомогательный профессиональный персонал",
        "Техник-мамандар және өзге де көмекші кәсіби персонал",
    ),
    "4": labels(
        "Clerical support workers",
        "Служащие, занятые подготовкой и оформлением документации, учётом и обслуживанием",
        "Құжаттаманы дайындау мен ресімдеуге, есепке алуға және қызмет көрсетуге байланысты қызметшілер",
    ),
    "5": labels(
        "Service and sales workers",
        "Работники сферы обслуживания и торговли",
        "Қызмет көрсету және сауда саласының қызметкерлері",
    ),
    "6": labels(
        "Skilled agricultural, forestry and fishery workers",
        "Квалифицированные работники сельского, лесного и рыбного хозяйства",
        "Ауыл, орман және балық шаруашылығының білікті жұмыскерлері",
    ),
    "7": labels(
        "Craft and related trades workers",
        "Квалифицированные рабочие промышленности, строительства и родственных занятий",
        "Өнеркәсіптің, құрылыстың білікті жұмысшылары және сабақтас кәсіптердің жұмысшылары",
    ),
    "8": labels(
        "Plant and machine operators, and assemblers",
        "Операторы производственных установок и машин, сборщики",
        "Өндірістік қондырғылар мен машиналардың операторлары, құрастырушылар",
    ),
    "9": labels("Elementary occupations", "Неквалифицированные работники", "Біліктілікті қажет етпейтін кәсіптер"),
}


def field_label(code: str, language: str) -> str:
    """Label of a narrow ("053") or broad ("05") ISCED-F field; unknown codes come back as they are."""
    return pick(ISCED_FIELDS.get(code) or ISCED_BROAD.get(code), language, code)


def broad_of(code: str) -> str:
    """The broad field of a narrow one ("053" -> "05"); a broad code is its own; "" when unknown."""
    if code in ISCED_FIELDS:
        return code[:2]
    return code if code in ISCED_BROAD else ""


def field_choices(language: str) -> list[tuple[str, str]]:
    """Narrow fields in code order, which groups them by broad field."""
    return choices(ISCED_FIELDS, language, by_label=False)


def occupation_label(code: str, language: str) -> str:
    return pick(ISCO_MAJOR_GROUPS.get(code), language, code)


def occupation_choices(language: str) -> list[tuple[str, str]]:
    return choices(ISCO_MAJOR_GROUPS, language, by_label=False)


def check_field(code: str) -> str:
    """`code` if it is an ISCED-F 2013 narrow field, else ValueError saying what to use instead."""
    code = code.strip() if isinstance(code, str) else code
    if code in ISCED_FIELDS:
        return code
    if code in ISCED_BROAD:
        narrow = ", ".join(c for c in ISCED_FIELDS if c.startswith(code))
        hint = f" {code!r} is a broad field ({field_label(code, 'en')}); pick one of its narrow fields: {narrow}."
    elif isinstance(code, str) and code[:3] in ISCED_FIELDS:
        hint = f" Did you mean {code[:3]!r} ({field_label(code[:3], 'en')})? Detailed 4-digit fields are not used here."
    else:
        hint = f" Allowed: {', '.join(ISCED_FIELDS)}."
    raise ValueError(f"Unknown field of study {code!r}: expected a 3-digit ISCED-F 2013 narrow field code.{hint}")


def check_occupation(code: str) -> str:
    """`code` if it is an ISCO-08 major group ("0".."9"), else ValueError."""
    code = code.strip() if isinstance(code, str) else code
    if code in ISCO_MAJOR_GROUPS:
        return code
    hint = ""
    if isinstance(code, str) and code[:1] in ISCO_MAJOR_GROUPS:
        group = code[:1]
        hint = f" Did you mean {group!r} ({occupation_label(group, 'en')})? A major group is a full code's first digit."
    raise ValueError(f"Unknown occupation {code!r}: expected an ISCO-08 major group, one digit from 0 to 9.{hint}")


def check_field_or_broad(code: str) -> str:
    """A narrow field, or a broad one when that is all that is known (a survey asks for the broad
    field, and a profile made from it keeps that until its owner narrows it down)."""
    code = (code or "").strip()
    return code if code in ISCED_BROAD else check_field(code)
