"""The curated skill vocabulary: what diaspora experts can offer Kazakhstan, one ISCED narrow field each.

Slugs are stored on profiles and requests, so never rename or remove one: add a new slug instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ._labels import Labels, choices, describe_unknown, labels, name_index, pick


@dataclass(frozen=True)
class Skill:
    slug: str
    field: str  # ISCED-F 2013 narrow field code
    labels: Labels


# fmt: off
_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    # slug, ISCED narrow field, English, Russian, Kazakh
    ("curriculum-design", "011", "Curriculum design", "Разработка учебных программ", "Оқу бағдарламаларын әзірлеу"),
    ("phd-supervision", "011", "PhD supervision", "Научное руководство докторантами",
     "Докторанттарға ғылыми жетекшілік"),
    ("teacher-training", "011", "Teacher training", "Подготовка учителей", "Мұғалімдерді даярлау"),
    ("inclusive-education", "011", "Inclusive education", "Инклюзивное образование", "Инклюзивті білім беру"),
    ("higher-education-management", "011", "Higher education management", "Управление высшим образованием",
     "Жоғары білім беруді басқару"),
    ("quality-assurance-in-education", "011", "Accreditation and quality assurance in education",
     "Аккредитация и обеспечение качества образования", "Аккредиттеу және білім беру сапасын қамтамасыз ету"),
    ("kazakh-language-teaching", "011", "Kazakh language teaching", "Преподавание казахского языка",
     "Қазақ тілін оқыту"),
    ("english-language-teaching", "011", "English language teaching", "Преподавание английского языка",
     "Ағылшын тілін оқыту"),
    ("graphic-design", "021", "Graphic design", "Графический дизайн", "Графикалық дизайн"),
    ("industrial-design", "021", "Industrial design", "Промышленный дизайн", "Өнеркәсіптік дизайн"),
    ("history", "022", "History", "История", "Тарих"),
    ("archaeology", "022", "Archaeology", "Археология", "Археология"),
    ("cultural-heritage", "022", "Cultural heritage preservation", "Сохранение культурного наследия",
     "Мәдени мұраны сақтау"),
    ("linguistics", "023", "Linguistics", "Лингвистика", "Лингвистика"),
    ("translation", "023", "Translation and interpreting", "Переводческое дело", "Аударма ісі"),
    ("turkic-studies", "023", "Turkic studies", "Тюркология", "Түркітану"),
    ("economics", "031", "Economics", "Экономика", "Экономика"),
    ("development-economics", "031", "Development economics", "Экономика развития", "Даму экономикасы"),
    ("sociology", "031", "Sociology", "Социология", "Әлеуметтану"),
    ("psychology", "031", "Psychology", "Психология", "Психология"),
    ("political-science", "031", "Political science", "Политология", "Саясаттану"),
    ("international-relations", "031", "International relations", "Международные отношения",
     "Халықаралық қатынастар"),
    ("public-policy", "031", "Public policy", "Государственная политика", "Мемлекеттік саясат"),
    ("demography", "031", "Demography", "Демография", "Демография"),
    ("migration-studies", "031", "Migration studies", "Миграционные исследования", "Көші-қон зерттеулері"),
    ("monitoring-and-evaluation", "031", "Monitoring and evaluation", "Мониторинг и оценка",
     "Мониторинг және бағалау"),
    ("journalism", "032", "Journalism", "Журналистика", "Журналистика"),
    ("science-communication", "032", "Science communication", "Научная коммуникация", "Ғылыми коммуникация"),
    ("finance", "041", "Finance", "Финансы", "Қаржы"),
    ("accounting", "041", "Accounting", "Бухгалтерский учёт", "Бухгалтерлік есеп"),
    ("fintech", "041", "Financial technology (fintech)", "Финансовые технологии (финтех)",
     "Қаржылық технологиялар (финтех)"),
    ("venture-investment", "041", "Venture investment", "Венчурное инвестирование", "Венчурлік инвестициялау"),
    ("entrepreneurship", "041", "Entrepreneurship", "Предпринимательство", "Кәсіпкерлік"),
    ("strategic-management", "041", "Strategic management", "Стратегический менеджмент", "Стратегиялық менеджмент"),
    ("project-management", "041", "Project management", "Управление проектами", "Жобаларды басқару"),
    ("human-resources", "041", "Human resource management", "Управление персоналом", "Персоналды басқару"),
    ("marketing", "041", "Marketing", "Маркетинг", "Маркетинг"),
    ("supply-chain-management", "041", "Supply chain management", "Управление цепями поставок",
     "Жеткізу тізбектерін басқару"),
    ("public-administration", "041", "Public administration", "Государственное управление", "Мемлекеттік басқару"),
    ("risk-management", "041", "Risk management", "Управление рисками", "Тәуекелдерді басқару"),
    ("grant-writing", "041", "Grant writing", "Подготовка грантовых заявок", "Гранттық өтінімдерді дайындау"),
    ("technology-transfer", "041", "Technology transfer and commercialisation",
     "Трансфер и коммерциализация технологий", "Технологиялар трансфері және коммерцияландыру"),
    ("corporate-law", "042", "Corporate law", "Корпоративное право", "Корпоративтік құқық"),
    ("international-law", "042", "International law", "Международное право", "Халықаралық құқық"),
    ("international-arbitration", "042", "International arbitration", "Международный арбитраж",
     "Халықаралық төрелік"),
    ("tax-law", "042", "Tax law", "Налоговое право", "Салық құқығы"),
    ("intellectual-property", "042", "Intellectual property law", "Право интеллектуальной собственности",
     "Зияткерлік меншік құқығы"),
    ("subsoil-law", "042", "Subsoil use law", "Право недропользования", "Жер қойнауын пайдалану құқығы"),
    ("molecular-biology", "051", "Molecular biology", "Молекулярная биология", "Молекулалық биология"),
    ("genetics", "051", "Genetics", "Генетика", "Генетика"),
    ("microbiology", "051", "Microbiology", "Микробиология", "Микробиология"),
    ("biotechnology", "051", "Biotechnology", "Биотехнология", "Биотехнология"),
    ("bioinformatics", "051", "Bioinformatics", "Биоинформатика", "Биоинформатика"),
    ("environmental-science", "052", "Environmental science", "Науки об окружающей среде",
     "Қоршаған орта туралы ғылымдар"),
    ("water-resources-management", "052", "Water resources management", "Управление водными ресурсами",
     "Су ресурстарын басқару"),
    ("environmental-impact-assessment", "052", "Environmental impact assessment",
     "Оценка воздействия на окружающую среду", "Қоршаған ортаға әсерді бағалау"),
    ("biodiversity-conservation", "052", "Biodiversity conservation", "Сохранение биоразнообразия",
     "Биологиялық әртүрлілікті сақтау"),
    ("desertification", "052", "Combating desertification and land degradation",
     "Борьба с опустыниванием и деградацией земель", "Шөлейттенуге және жердің тозуына қарсы күрес"),
    ("physics", "053", "Physics", "Физика", "Физика"),
    ("chemistry", "053", "Chemistry", "Химия", "Химия"),
    ("geology", "053", "Geology", "Геология", "Геология"),
    ("geophysics", "053", "Geophysics", "Геофизика", "Геофизика"),
    ("hydrology", "053", "Hydrology", "Гидрология", "Гидрология"),
    ("seismology", "053", "Seismology", "Сейсмология", "Сейсмология"),
    ("climate-science", "053", "Climate science and meteorology", "Климатология и метеорология",
     "Климатология және метеорология"),
    ("gis", "053", "Geographic information systems (GIS)", "Геоинформационные системы (ГИС)",
     "Геоақпараттық жүйелер (ГАЖ)"),
    ("remote-sensing", "053", "Remote sensing", "Дистанционное зондирование Земли", "Жерді қашықтықтан зондтау"),
    ("statistics", "054", "Statistics", "Статистика", "Статистика"),
    ("applied-mathematics", "054", "Applied mathematics", "Прикладная математика", "Қолданбалы математика"),
    ("mathematical-modelling", "054", "Mathematical modelling", "Математическое моделирование",
     "Математикалық модельдеу"),
    ("data-analysis", "054", "Data analysis", "Анализ данных", "Деректерді талдау"),
    ("software-engineering", "061", "Software engineering", "Разработка программного обеспечения",
     "Бағдарламалық қамтамасыз етуді әзірлеу"),
    ("machine-learning", "061", "Machine learning", "Машинное обучение", "Машиналық оқыту"),
    ("artificial-intelligence", "061", "Artificial intelligence", "Искусственный интеллект", "Жасанды интеллект"),
    ("computer-vision", "061", "Computer vision", "Компьютерное зрение", "Компьютерлік көру"),
    ("natural-language-processing", "061", "Natural language processing", "Обработка естественного языка",
     "Табиғи тілді өңдеу"),
    ("databases", "061", "Database design and administration", "Проектирование и администрирование баз данных",
     "Деректер қорын жобалау және әкімшілендіру"),
    ("cybersecurity", "061", "Cybersecurity", "Кибербезопасность", "Киберқауіпсіздік"),
    ("cloud-computing", "061", "Cloud computing", "Облачные вычисления", "Бұлтты есептеулер"),
    ("e-government", "061", "E-government and digital public services",
     "Электронное правительство и цифровые госуслуги", "Электрондық үкімет және цифрлық мемлекеттік қызметтер"),
    ("chemical-engineering", "071", "Chemical engineering", "Химическая технология", "Химиялық технология"),
    ("water-treatment", "071", "Water and wastewater treatment", "Водоподготовка и очистка сточных вод",
     "Суды дайындау және ағынды суларды тазарту"),
    ("waste-management", "071", "Waste management", "Управление отходами", "Қалдықтарды басқару"),
    ("renewable-energy", "071", "Renewable energy", "Возобновляемая энергетика", "Жаңартылатын энергетика"),
    ("power-systems", "071", "Power systems and grids", "Электроэнергетические системы и сети",
     "Электр энергетикалық жүйелер мен желілер"),
    ("energy-efficiency", "071", "Energy efficiency", "Энергоэффективность", "Энергия тиімділігі"),
    ("nuclear-engineering", "071", "Nuclear engineering", "Ядерная энергетика", "Ядролық энергетика"),
    ("automation", "071", "Automation and control systems", "Автоматизация и системы управления",
     "Автоматтандыру және басқару жүйелері"),
    ("mechanical-engineering", "071", "Mechanical engineering", "Машиностроение", "Машина жасау"),
    ("metallurgy", "071", "Metallurgy", "Металлургия", "Металлургия"),
    ("petroleum-engineering", "072", "Petroleum engineering", "Нефтегазовое дело", "Мұнай-газ ісі"),
    ("mining-engineering", "072", "Mining engineering", "Горное дело", "Тау-кен ісі"),
    ("mineral-processing", "072", "Mineral processing", "Обогащение полезных ископаемых",
     "Пайдалы қазбаларды байыту"),
    ("food-technology", "072", "Food technology", "Технология продовольственных продуктов",
     "Тамақ өнімдерінің технологиясы"),
    ("materials-science", "072", "Materials science", "Материаловедение", "Материалтану"),
    ("architecture", "073", "Architecture", "Архитектура", "Сәулет"),
    ("urban-planning", "073", "Urban planning", "Градостроительство", "Қала құрылысы"),
    ("civil-engineering", "073", "Civil engineering", "Гражданское строительство", "Азаматтық құрылыс"),
    ("hydraulic-engineering", "073", "Hydraulic engineering", "Гидротехническое строительство",
     "Гидротехникалық құрылыс"),
    ("construction-management", "073", "Construction management", "Управление строительством",
     "Құрылысты басқару"),
    ("geodesy", "073", "Surveying and geodesy", "Геодезия и картография", "Геодезия және картография"),
    ("agronomy", "081", "Agronomy", "Агрономия", "Агрономия"),
    ("irrigation", "081", "Irrigation and drainage", "Орошение и дренаж", "Суару және дренаж"),
    ("soil-science", "081", "Soil science", "Почвоведение", "Топырақтану"),
    ("plant-breeding", "081", "Plant breeding and seed production", "Селекция и семеноводство",
     "Селекция және тұқым шаруашылығы"),
    ("animal-husbandry", "081", "Animal husbandry", "Животноводство", "Мал шаруашылығы"),
    ("precision-agriculture", "081", "Precision agriculture", "Точное земледелие", "Дәл егіншілік"),
    ("forestry", "082", "Forest management", "Управление лесным хозяйством", "Орман шаруашылығын басқару"),
    ("aquaculture", "083", "Fisheries and aquaculture", "Рыбное хозяйство и аквакультура",
     "Балық шаруашылығы және аквакультура"),
    ("veterinary-medicine", "084", "Veterinary medicine", "Ветеринарная медицина", "Ветеринариялық медицина"),
    ("public-health", "091", "Public health", "Общественное здравоохранение", "Қоғамдық денсаулық сақтау"),
    ("epidemiology", "091", "Epidemiology", "Эпидемиология", "Эпидемиология"),
    ("clinical-medicine", "091", "Clinical medicine", "Клиническая медицина", "Клиникалық медицина"),
    ("nursing", "091", "Nursing", "Сестринское дело", "Мейіргер ісі"),
    ("pharmacy", "091", "Pharmacy", "Фармация", "Фармация"),
    ("mental-health", "091", "Mental health", "Психическое здоровье", "Психикалық денсаулық"),
    ("health-management", "091", "Health care management", "Менеджмент в здравоохранении",
     "Денсаулық сақтау менеджменті"),
    ("clinical-research", "091", "Clinical research", "Клинические исследования", "Клиникалық зерттеулер"),
    ("digital-health", "091", "Digital health", "Цифровое здравоохранение", "Цифрлық денсаулық сақтау"),
    ("social-work", "092", "Social work", "Социальная работа", "Әлеуметтік жұмыс"),
    ("disability-inclusion", "092", "Disability inclusion", "Инклюзия людей с инвалидностью",
     "Мүгедектігі бар адамдардың инклюзиясы"),
    ("tourism", "101", "Tourism management", "Управление туризмом", "Туризмді басқару"),
    ("hospitality", "101", "Hospitality management", "Гостиничный и ресторанный бизнес",
     "Қонақ үй және мейрамхана бизнесі"),
    ("occupational-safety", "102", "Occupational health and safety", "Охрана труда и промышленная безопасность",
     "Еңбекті қорғау және өнеркәсіптік қауіпсіздік"),
    ("emergency-management", "103", "Emergency and disaster management", "Управление в чрезвычайных ситуациях",
     "Төтенше жағдайларды басқару"),
    ("logistics", "104", "Logistics", "Логистика", "Логистика"),
    ("railway-transport", "104", "Railway transport", "Железнодорожный транспорт", "Теміржол көлігі"),
)
# fmt: on

SKILLS: dict[str, Skill] = {slug: Skill(slug, field, labels(en, ru, kk)) for slug, field, en, ru, kk in _ROWS}

_NAMES = name_index({skill.slug: skill.labels for skill in SKILLS.values()})


def skill_label(slug: str, language: str) -> str:
    skill = SKILLS.get(slug)
    return pick(skill.labels if skill else None, language, slug)


def skills_for_field(code: str) -> tuple[str, ...]:
    """Slugs of the skills in a narrow field ("053"), or in every narrow field of a broad one ("05")."""
    return tuple(s.slug for s in SKILLS.values() if code and code in (s.field, s.field[:2]))


def skill_choices(language: str) -> list[tuple[str, str]]:
    """(slug, label) pairs sorted by label in Kazakh/Russian/English alphabetical order."""
    return choices({slug: skill.labels for slug, skill in SKILLS.items()}, language, by_label=True)


def _slugify(value: str) -> str:
    return re.sub(r"[\s_]+", "-", value.strip().lower())


def check_skills(slugs: Iterable[str]) -> tuple[str, ...]:
    """Known slugs, normalised ("Machine learning" -> "machine-learning"), without repeats, in the given order."""
    given = [slugs] if isinstance(slugs, str) else list(slugs)  # a lone string is one slug, not letters
    unknown = list(dict.fromkeys(raw for raw in given if _slugify(raw) not in SKILLS))
    if unknown:
        raise ValueError(
            f"Unknown skill{'s' if len(unknown) > 1 else ''}: {describe_unknown(unknown, _NAMES)}. "
            "Choose from the curated skill list."
        )
    return tuple(dict.fromkeys(_slugify(raw) for raw in given))
