"""A seeded synthetic registry for tests and the benchmark: experts, requests and planted best matches.

Each ISCED-F narrow field has six curated skills, and each skill a topic phrase in English, Russian
and Kazakh. Bios talk about the person's skills in one of their languages; requests name their
skills in the institution's language. For every request one expert is planted as its best match:
it has every requested skill (and, when the request is interdisciplinary, the rare skill from
another field), the same field, the requested languages, ties to the requesting region (when it
has a home region), a fresh profile, an offer of the mode in a compatible format with capacity
left, and no affiliation with the institution. It is not
identifiable by id or text identity: it is a random expert, its bio wraps the phrases in other
words and often another language, and other experts of the field share some of its skills.
"""

from __future__ import annotations

import dataclasses
import random

from .types import DEFAULT_WEIGHTS, ExpertRow, OfferRow, RequestRow

MODES = (
    "mentoring",
    "guest_lecture",
    "joint_research",
    "co_supervision",
    "consulting",
    "investment",
    "internship_hosting",
    "short_visit",
    "return",
)
# Modes whose capacity is usually counted in hours rather than engagements.
HOURLY_MODES = {"guest_lecture", "consulting", "mentoring", "short_visit"}
LANGUAGES = ("kk", "ru", "en", "de", "tr", "zh", "fr")
TEXT_LANGUAGES = ("kk", "ru", "en")
REGIONS = (
    "KZ-10 KZ-11 KZ-15 KZ-19 KZ-23 KZ-27 KZ-31 KZ-33 KZ-35 KZ-39 "
    "KZ-43 KZ-47 KZ-55 KZ-59 KZ-61 KZ-62 KZ-63 KZ-71 KZ-75 KZ-79"
).split()
# Country, UTC offset, the language spoken there besides kk/ru/en (or "").
COUNTRIES = (
    ("DEU", 1.0, "de"),
    ("USA", -5.0, ""),
    ("USA", -8.0, ""),
    ("GBR", 0.0, ""),
    ("RUS", 3.0, ""),
    ("TUR", 3.0, "tr"),
    ("CHN", 8.0, "zh"),
    ("KOR", 9.0, ""),
    ("JPN", 9.0, ""),
    ("CAN", -5.0, "fr"),
    ("FRA", 1.0, "fr"),
    ("NLD", 1.0, ""),
    ("CZE", 1.0, ""),
    ("ARE", 4.0, ""),
    ("SGP", 8.0, "zh"),
    ("KAZ", 5.0, ""),
)

# field code -> (skill slug, English, Russian, Kazakh) x 6
FIELDS: dict[str, list[tuple[str, str, str, str]]] = {
    "011": [
        ("curriculum-design", "curriculum design", "разработка учебных программ", "оқу бағдарламасын әзірлеу"),
        ("teacher-training", "teacher training", "подготовка учителей", "мұғалімдерді даярлау"),
        ("student-assessment", "student assessment", "оценивание учащихся", "оқушыларды бағалау"),
        ("edtech", "educational technology", "цифровые технологии в образовании", "білім берудегі цифрлық технология"),
        ("inclusive-education", "inclusive education", "инклюзивное образование", "инклюзивті білім беру"),
        ("pedagogy", "pedagogy research", "педагогические исследования", "педагогикалық зерттеулер"),
    ],
    "021": [
        ("graphic-design", "graphic design", "графический дизайн", "графикалық дизайн"),
        ("film-production", "film production", "кинопроизводство", "кино өндірісі"),
        ("music-performance", "music performance", "музыкальное исполнительство", "музыкалық орындаушылық"),
        ("fine-arts", "painting and fine arts", "изобразительное искусство", "бейнелеу өнері"),
        ("animation", "animation", "анимация", "анимация өнері"),
        ("art-curation", "museum curation", "кураторство выставок", "көрмелерді кураторлау"),
    ],
    "022": [
        ("history", "history of Kazakhstan", "история Казахстана", "Қазақстан тарихы"),
        ("philosophy", "philosophy", "философия", "философия ғылымы"),
        ("archaeology", "archaeology", "археология", "археология"),
        ("religious-studies", "religious studies", "религиоведение", "дінтану"),
        ("ethnography", "ethnography", "этнография", "этнография"),
        ("digital-humanities", "digital humanities", "цифровые гуманитарные науки", "цифрлық гуманитарлық ғылымдар"),
    ],
    "023": [
        ("translation", "translation", "художественный перевод", "аударма ісі"),
        ("linguistics", "linguistics", "лингвистика", "тіл білімі"),
        ("kazakh-language", "Kazakh language", "казахский язык", "қазақ тілі"),
        ("english-teaching", "teaching English", "преподавание английского", "ағылшын тілін оқыту"),
        ("turkic-studies", "Turkic studies", "тюркология", "түркітану"),
        ("corpus-linguistics", "corpus linguistics", "корпусная лингвистика", "корпустық лингвистика"),
    ],
    "031": [
        ("economics", "economics", "экономика", "экономика ғылымы"),
        ("sociology", "sociology", "социология", "әлеуметтану"),
        ("psychology", "psychology", "психология", "психология"),
        ("political-science", "political science", "политология", "саясаттану"),
        ("demography", "demography", "демография", "демография"),
        ("survey-methods", "survey methodology", "методология опросов", "сауалнама әдістемесі"),
    ],
    "032": [
        ("journalism", "journalism", "журналистика", "журналистика"),
        ("media-studies", "media studies", "медиаисследования", "медиазерттеулер"),
        ("library-science", "library science", "библиотековедение", "кітапханатану"),
        ("data-journalism", "data journalism", "журналистика данных", "деректер журналистикасы"),
        ("public-relations", "public relations", "связи с общественностью", "қоғаммен байланыс"),
        ("archival-science", "archives", "архивоведение", "мұрағаттану"),
    ],
    "041": [
        ("accounting", "accounting", "бухгалтерский учёт", "бухгалтерлік есеп"),
        ("finance", "corporate finance", "корпоративные финансы", "корпоративтік қаржы"),
        ("marketing", "marketing", "маркетинг", "маркетинг"),
        ("management", "management", "менеджмент", "басқару"),
        ("entrepreneurship", "entrepreneurship", "предпринимательство", "кәсіпкерлік"),
        ("supply-chain", "supply chains", "цепочки поставок", "жеткізу тізбектері"),
    ],
    "042": [
        ("international-law", "international law", "международное право", "халықаралық құқық"),
        ("civil-law", "civil law", "гражданское право", "азаматтық құқық"),
        ("intellectual-property", "intellectual property", "интеллектуальная собственность", "зияткерлік меншік"),
        ("human-rights", "human rights", "права человека", "адам құқықтары"),
        ("arbitration", "arbitration", "арбитраж", "төрелік"),
        ("energy-law", "energy law", "энергетическое право", "энергетикалық құқық"),
    ],
    "051": [
        ("molecular-biology", "molecular biology", "молекулярная биология", "молекулалық биология"),
        ("genetics", "genetics", "генетика", "генетика"),
        ("microbiology", "microbiology", "микробиология", "микробиология"),
        ("biochemistry", "biochemistry", "биохимия", "биохимия"),
        ("bioinformatics", "bioinformatics", "биоинформатика", "биоинформатика"),
        ("neuroscience", "neuroscience", "нейробиология", "нейробиология"),
    ],
    "052": [
        ("hydrology", "hydrology", "гидрология", "гидрология"),
        ("water-resources", "water resources", "водные ресурсы", "су ресурстары"),
        ("climate-science", "climate change", "изменение климата", "климаттың өзгеруі"),
        ("ecology", "ecology", "экология", "экология"),
        ("water-quality", "water quality", "качество воды", "су сапасы"),
        ("biodiversity", "biodiversity", "биоразнообразие", "биоәртүрлілік"),
    ],
    "053": [
        ("physics", "physics", "физика", "физика"),
        ("chemistry", "chemistry", "химия", "химия"),
        ("geology", "geology", "геология", "геология"),
        ("astronomy", "astronomy", "астрономия", "астрономия"),
        ("materials-science", "materials science", "материаловедение", "материалтану"),
        ("petroleum-geology", "petroleum geology", "геология нефти и газа", "мұнай-газ геологиясы"),
    ],
    "054": [
        ("statistics", "statistics", "статистика", "статистика"),
        ("applied-mathematics", "applied mathematics", "прикладная математика", "қолданбалы математика"),
        ("data-analysis", "data analysis", "анализ данных", "деректерді талдау"),
        ("probability", "probability theory", "теория вероятностей", "ықтималдықтар теориясы"),
        ("optimisation", "optimisation", "оптимизация", "оңтайландыру"),
        ("actuarial-science", "actuarial science", "актуарные расчёты", "актуарлық есептеулер"),
    ],
    "061": [
        ("machine-learning", "machine learning", "машинное обучение", "машиналық оқыту"),
        ("software-engineering", "software engineering", "программная инженерия", "бағдарламалық инженерия"),
        ("cybersecurity", "cybersecurity", "кибербезопасность", "киберқауіпсіздік"),
        ("databases", "databases", "базы данных", "дерекқорлар"),
        ("cloud-computing", "cloud computing", "облачные вычисления", "бұлттық есептеулер"),
        ("nlp", "natural language processing", "обработка естественного языка", "табиғи тілді өңдеу"),
    ],
    "071": [
        ("mechanical-engineering", "mechanical engineering", "машиностроение", "машина жасау"),
        ("electrical-engineering", "electrical engineering", "электротехника", "электротехника"),
        ("power-systems", "power systems", "энергосистемы", "энергожүйелер"),
        ("robotics", "robotics", "робототехника", "робототехника"),
        ("chemical-engineering", "chemical engineering", "химическая технология", "химиялық технология"),
        ("automation", "industrial automation", "автоматизация производства", "өндірісті автоматтандыру"),
    ],
    "072": [
        ("food-technology", "food technology", "пищевые технологии", "тамақ технологиясы"),
        ("textiles", "textiles", "текстильное производство", "тоқыма өндірісі"),
        ("mining", "mining", "горное дело", "тау-кен ісі"),
        ("metallurgy", "metallurgy", "металлургия", "металлургия"),
        ("quality-control", "quality control", "контроль качества", "сапаны бақылау"),
        ("oil-refining", "oil refining", "нефтепереработка", "мұнай өңдеу"),
    ],
    "073": [
        ("architecture", "architecture", "архитектура", "сәулет өнері"),
        ("urban-planning", "urban planning", "градостроительство", "қала құрылысы"),
        ("civil-engineering", "civil engineering", "гражданское строительство", "азаматтық құрылыс"),
        ("structural-engineering", "structural design", "проектирование конструкций", "құрылымдарды жобалау"),
        ("seismic-design", "seismic safety", "сейсмостойкость", "сейсмикалық төзімділік"),
        ("building-materials", "building materials", "строительные материалы", "құрылыс материалдары"),
    ],
    "081": [
        ("agronomy", "agronomy", "агрономия", "агрономия"),
        ("soil-science", "soil science", "почвоведение", "топырақтану"),
        ("irrigation", "irrigation", "орошение", "суару"),
        ("crop-breeding", "crop breeding", "селекция растений", "өсімдіктер селекциясы"),
        ("livestock", "livestock farming", "животноводство", "мал шаруашылығы"),
        ("agri-economics", "agricultural economics", "экономика сельского хозяйства", "ауыл шаруашылығы экономикасы"),
    ],
    "082": [
        ("forest-management", "forest management", "лесное хозяйство", "орман шаруашылығы"),
        ("reforestation", "reforestation", "лесовосстановление", "орманды қалпына келтіру"),
        ("wildfire", "wildfire prevention", "лесные пожары", "орман өрттері"),
        ("forest-ecology", "forest ecology", "лесная экология", "орман экологиясы"),
        ("wood-science", "wood science", "древесиноведение", "ағаштану"),
        ("saxaul-restoration", "saxaul restoration", "восстановление саксаула", "сексеуілді қалпына келтіру"),
    ],
    "083": [
        ("aquaculture", "aquaculture", "аквакультура", "аквамәдениет"),
        ("fish-biology", "fish biology", "ихтиология", "ихтиология"),
        ("fisheries-management", "fisheries management", "управление рыболовством", "балық шаруашылығын басқару"),
        ("aral-sea", "Aral Sea restoration", "восстановление Арала", "Аралды қалпына келтіру"),
        ("caspian-ecology", "Caspian ecology", "экология Каспия", "Каспий экологиясы"),
        ("fish-processing", "fish processing", "переработка рыбы", "балық өңдеу"),
    ],
    "084": [
        ("veterinary-medicine", "veterinary medicine", "ветеринария", "ветеринария"),
        ("animal-health", "animal health", "здоровье животных", "жануарлар денсаулығы"),
        ("epizootology", "epizootology", "эпизоотология", "эпизоотология"),
        ("veterinary-surgery", "veterinary surgery", "ветеринарная хирургия", "ветеринарлық хирургия"),
        ("zoonoses", "zoonotic diseases", "зоонозы", "зооноздар"),
        ("animal-nutrition", "animal nutrition", "кормление животных", "жануарларды азықтандыру"),
    ],
    "091": [
        ("public-health", "public health", "общественное здравоохранение", "қоғамдық денсаулық сақтау"),
        ("epidemiology", "epidemiology", "эпидемиология", "эпидемиология"),
        ("cardiology", "cardiology", "кардиология", "кардиология"),
        ("oncology", "oncology", "онкология", "онкология"),
        ("nursing", "nursing", "сестринское дело", "мейірбике ісі"),
        ("health-informatics", "health informatics", "медицинская информатика", "медициналық информатика"),
    ],
    "092": [
        ("social-work", "social work", "социальная работа", "әлеуметтік жұмыс"),
        ("child-protection", "child protection", "защита детей", "балаларды қорғау"),
        ("disability-support", "disability support", "поддержка людей с инвалидностью", "мүгедектігі бар адамдарды қолдау"),
        ("elderly-care", "elderly care", "уход за пожилыми", "қарттарға күтім"),
        ("community-development", "community development", "развитие местных сообществ", "қоғамдастықты дамыту"),
        ("migration-support", "migrant support", "помощь мигрантам", "көші-қон қолдауы"),
    ],
    "101": [
        ("tourism", "tourism", "туризм", "туризм"),
        ("hospitality", "hospitality", "гостиничное дело", "қонақ үй ісі"),
        ("sport-coaching", "sports coaching", "спортивная подготовка", "спорттық жаттықтыру"),
        ("event-management", "event management", "организация мероприятий", "іс-шараларды ұйымдастыру"),
        ("culinary-arts", "culinary arts", "кулинария", "аспаздық өнер"),
        ("ecotourism", "ecotourism", "экотуризм", "экотуризм"),
    ],
    "102": [
        ("occupational-safety", "occupational safety", "охрана труда", "еңбекті қорғау"),
        ("environmental-health", "environmental health", "гигиена окружающей среды", "қоршаған орта гигиенасы"),
        ("sanitation", "sanitation", "санитария", "санитария"),
        ("industrial-hygiene", "industrial hygiene", "промышленная гигиена", "өндірістік гигиена"),
        ("radiation-safety", "radiation safety", "радиационная безопасность", "радиациялық қауіпсіздік"),
        ("waste-management", "waste management", "обращение с отходами", "қалдықтарды басқару"),
    ],
    "103": [
        ("emergency-management", "emergency management", "управление ЧС", "төтенше жағдайларды басқару"),
        ("civil-protection", "civil protection", "гражданская защита", "азаматтық қорғаныс"),
        ("disaster-risk", "disaster risk reduction", "снижение риска бедствий", "апат қаупін азайту"),
        ("forensics", "forensic science", "криминалистика", "криминалистика"),
        ("border-security", "border security", "пограничная безопасность", "шекара қауіпсіздігі"),
        ("crisis-response", "crisis response", "реагирование на кризисы", "дағдарысқа әрекет ету"),
    ],
    "104": [
        ("logistics", "logistics", "логистика", "логистика"),
        ("railway-engineering", "railway engineering", "железнодорожный транспорт", "теміржол көлігі"),
        ("aviation", "aviation", "авиация", "авиация"),
        ("road-safety", "road safety", "безопасность дорожного движения", "жол қозғалысы қауіпсіздігі"),
        ("public-transport", "public transport", "общественный транспорт", "қоғамдық көлік"),
        ("maritime-transport", "maritime transport", "морской транспорт", "теңіз көлігі"),
    ],
}
FIELD_CODES = tuple(FIELDS)
_LANGUAGE_COLUMN = {"en": 1, "ru": 2, "kk": 3}
SKILL_PHRASES: dict[str, tuple[str, str, str]] = {
    slug: (en, ru, kk) for rows in FIELDS.values() for slug, en, ru, kk in rows
}
SKILL_FIELD = {slug: code for code, rows in FIELDS.items() for slug, *_ in rows}

# Words around the topic phrases, so bios and requests do not repeat each other.
_BIO = {
    "en": (
        "{title} at a university in {city}. Works on {a}; {years} years of experience with {b}. "
        "Happy to help with {c}.",
        "{title}, {city}. Research and teaching in {a} and {b}. Projects: {c}.",
        "Based in {city}, {title}. Focus on {a}, also {b} and {c}; alumnus of a Kazakh university.",
    ),
    "ru": (
        "{title}, {city}. Занимается темами: {a}; опыт {years} лет в области: {b}. Готов помочь: {c}.",
        "{title} в {city}. Исследования и преподавание: {a}, {b}. Проекты: {c}.",
        "Живёт в {city}, {title}. Основное направление: {a}; также {b} и {c}. Выпускник вуза Казахстана.",
    ),
    "kk": (
        "{city} қаласындағы {title}. Зерттеу бағыттары: {a}; {b} саласында {years} жыл тәжірибе. Көмектесе алады: {c}.",
        "{title}, {city}. Ғылым мен оқыту: {a}, {b}. Жобалар: {c}.",
        "{city} қаласында тұрады, {title}. Негізгі бағыты: {a}; сонымен қатар {b} және {c}. Қазақстандық ЖОО түлегі.",
    ),
}
_TITLES = {
    "en": ("Professor", "Senior researcher", "Lecturer", "Engineer", "Consultant", "Postdoctoral fellow"),
    "ru": ("Профессор", "Старший научный сотрудник", "Преподаватель", "Инженер", "Консультант", "Постдок"),
    "kk": ("Профессор", "Аға ғылыми қызметкер", "Оқытушы", "Инженер", "Кеңесші", "Постдок"),
}
_CITIES = ("Berlin", "Boston", "London", "Moscow", "Istanbul", "Beijing", "Seoul", "Toronto", "Paris", "Prague")
_REQUEST = {
    "en": ("{mode} needed: {a}", "Looking for an expert in {a} ({mode})", "{mode} on {a} for our students"),
    "ru": ("Нужен эксперт: {a} ({mode})", "Ищем специалиста по теме: {a}", "{mode}: {a} для студентов и сотрудников"),
    "kk": ("Сарапшы қажет: {a} ({mode})", "Біз {a} бойынша маман іздейміз", "{mode}: студенттерге арналған {a}"),
}
_MODE_LABEL = {
    "en": {m: m.replace("_", " ") for m in MODES},
    "ru": {
        "mentoring": "менторство",
        "guest_lecture": "гостевая лекция",
        "joint_research": "совместное исследование",
        "co_supervision": "соруководство",
        "consulting": "консультация",
        "investment": "инвестиции",
        "internship_hosting": "стажировка",
        "short_visit": "короткий визит",
        "return": "возвращение",
    },
    "kk": {
        "mentoring": "тәлімгерлік",
        "guest_lecture": "қонақ дәріс",
        "joint_research": "бірлескен зерттеу",
        "co_supervision": "бірлескен жетекшілік",
        "consulting": "кеңес беру",
        "investment": "инвестиция",
        "internship_hosting": "тағылымдама",
        "short_visit": "қысқа сапар",
        "return": "елге оралу",
    },
}


def population(
    n_experts: int, n_requests: int, *, seed: int = 0, planted: bool = True
) -> tuple[list[ExpertRow], list[RequestRow], dict[int, int]]:
    """`n_experts` experts, `n_requests` requests and request id -> planted best person id."""
    rng = random.Random(seed)
    institutions = [(1000 + i, rng.choice(REGIONS), rng.choice(FIELD_CODES)) for i in range(300)]
    experts = [_expert(rng, 100_000 + i, institutions) for i in range(n_experts)]
    picks = rng.sample(range(n_experts), min(n_requests, n_experts)) if planted and n_experts else []
    requests, truth = [], {}
    for i in range(n_requests):
        request_id = 500_000 + i
        if i < len(picks):
            expert = experts[picks[i]]
            language = rng.choice([lang for lang in expert.languages if lang in TEXT_LANGUAGES])
            # Its bio is (re)written in the request's language, in other words than the request's.
            bio = _bio(rng, language, list(expert.skills))
            expert = experts[picks[i]] = dataclasses.replace(expert, stale=False, text=bio)
            requests.append(_planted_request(rng, request_id, expert, experts, institutions, language))
            truth[request_id] = expert.person_id
        else:
            requests.append(_random_request(rng, request_id, institutions))
    return experts, requests, truth


def _expert(rng: random.Random, person_id: int, institutions: list) -> ExpertRow:
    field = rng.choice(FIELD_CODES)
    own = [slug for slug, *_ in FIELDS[field]]
    skills = rng.sample(own, rng.randint(2, 4))
    if rng.random() < 0.5:  # interdisciplinary: one or two skills from other fields
        other = rng.sample(FIELD_CODES, 2)
        skills += [rng.choice(FIELDS[code])[0] for code in other[: rng.randint(1, 2)] if code != field]
    country, utc_offset, local = rng.choice(COUNTRIES)
    languages = {language for language, p in (("ru", 0.8), ("kk", 0.5), ("en", 0.7)) if rng.random() < p}
    if local and rng.random() < 0.7:
        languages.add(local)
    if rng.random() < 0.05:
        languages.add(rng.choice(LANGUAGES))
    if not languages & set(TEXT_LANGUAGES):
        languages.add(rng.choice(TEXT_LANGUAGES))
    n_offers = rng.choices((1, 2, 3), weights=(0.35, 0.4, 0.25))[0]
    offers = tuple(_offer(rng, person_id * 10 + j, mode) for j, mode in enumerate(rng.sample(MODES, n_offers)))
    text_language = rng.choice([lang for lang in TEXT_LANGUAGES if lang in languages] or ["en"])
    return ExpertRow(
        person_id=person_id,
        field=field,
        occupation=rng.choice("1234"),
        skills=tuple(skills),
        tags=(),
        languages=tuple(sorted(languages)),
        country=country,
        home_region=rng.choice(REGIONS) if rng.random() < 0.85 else "",
        utc_offset=utc_offset,
        text=_bio(rng, text_language, skills),
        stale=rng.random() < 0.1,
        institution_ids=tuple(rng.choice(institutions)[0] for _ in range(rng.choice((0, 0, 1, 2)))),
        offers=offers,
    )


def _offer(rng: random.Random, offer_id: int, mode: str) -> OfferRow:
    hourly = mode in HOURLY_MODES and rng.random() < 0.6
    remote = rng.random() < 0.8
    onsite = not remote or rng.random() < 0.4
    return OfferRow(
        offer_id=offer_id,
        mode=mode,
        remaining=rng.randint(4, 40) if hourly else rng.randint(1, 6),
        unit="hours" if hourly else "engagements",
        remote=remote,
        onsite=onsite,
    )


def _phrase(slug: str, language: str) -> str:
    return SKILL_PHRASES[slug][_LANGUAGE_COLUMN[language] - 1]


def _bio(rng: random.Random, language: str, skills: list[str]) -> str:
    phrases = [_phrase(slug, language) for slug in skills]
    rng.shuffle(phrases)
    a, b, c = phrases[0], ", ".join(phrases[1:2]) or phrases[0], ", ".join(phrases[2:]) or "консультации"
    bio = rng.choice(_BIO[language]).format(
        title=rng.choice(_TITLES[language]), city=rng.choice(_CITIES), years=rng.randint(3, 25), a=a, b=b, c=c
    )
    labels = ", ".join(slug.replace("-", " ") for slug in skills)
    return f"{bio} Skills: {labels}."


def _planted_request(
    rng: random.Random, request_id: int, expert: ExpertRow, experts: list[ExpertRow], institutions: list, language: str
) -> RequestRow:
    offer = rng.choice(expert.offers)
    own = [slug for slug in expert.skills if SKILL_FIELD[slug] == expert.field]
    skills = rng.sample(own, min(len(own), rng.randint(2, 3)))
    skills += [slug for slug in expert.skills if SKILL_FIELD[slug] != expert.field][:1]
    spoken = [lang for lang in expert.languages if lang in TEXT_LANGUAGES]
    languages = {language} | set(rng.sample(spoken, min(len(spoken), rng.choice((0, 0, 1)))))
    institution, region, _ = rng.choice([i for i in institutions if i[0] not in expert.institution_ids])
    region = expert.home_region or region
    formats = (["remote"] if offer.remote else []) + (["onsite"] if offer.onsite else []) + ["either"]
    hours = rng.randint(2, min(8, offer.remaining)) if offer.unit == "hours" else rng.randint(2, 8)
    others = [e.person_id for e in rng.sample(experts, min(3, len(experts))) if e.person_id != expert.person_id]
    return RequestRow(
        request_id=request_id,
        institution_id=institution,
        mode=offer.mode,
        field=expert.field,
        skills=tuple(skills),
        languages=tuple(sorted(languages)),
        region=region,
        utc_offset=5.0,
        format=rng.choice(formats),
        text=_request_text(rng, language, offer.mode, skills),
        slots=rng.choices((1, 2, 3), weights=(0.6, 0.3, 0.1))[0],
        hours_per_expert=hours,
        excluded_person_ids=frozenset(others[: rng.choice((0, 0, 0, 1, 2))]),
        weights=_weights(rng),
    )


def _random_request(rng: random.Random, request_id: int, institutions: list) -> RequestRow:
    institution, region, field = rng.choice(institutions)
    skills = rng.sample([slug for slug, *_ in FIELDS[field]], 2)
    language = rng.choice(TEXT_LANGUAGES)
    mode = rng.choice(MODES)
    return RequestRow(
        request_id=request_id,
        institution_id=institution,
        mode=mode,
        field=field,
        skills=tuple(skills),
        languages=(language,),
        region=region,
        utc_offset=5.0,
        format=rng.choice(("remote", "onsite", "either")),
        text=_request_text(rng, language, mode, skills),
        slots=rng.randint(1, 3),
        hours_per_expert=rng.randint(2, 8),
    )


def _request_text(rng: random.Random, language: str, mode: str, skills: list[str]) -> str:
    topic = ", ".join(_phrase(slug, language) for slug in skills)
    return rng.choice(_REQUEST[language]).format(mode=_MODE_LABEL[language][mode], a=topic)


def _weights(rng: random.Random) -> dict[str, float]:
    if rng.random() < 0.9:
        return dict(DEFAULT_WEIGHTS)
    weights = dict(DEFAULT_WEIGHTS)
    weights[rng.choice(list(weights))] *= 2  # an institution that cares more about one criterion
    return weights
