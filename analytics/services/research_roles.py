"""The role of every variable of a survey in a research export, read from the instrument by default.

A variable's default role follows its answer type and its name or English label (an
e-mail or phone field is a direct identifier; age, sex, country and city of residence,
field, programme, cohort and years, employer and occupation are quasi-identifiers;
income and intentions are sensitive; other free text is free text). An administrator's
decision (a ``VariableRole`` row) overrides the default; every change is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from accounts.audit import audit_record
from accounts.models import User
from surveys.models import Survey
from surveys.selectors_admin import MergedField, merged_fields

from ..models import VariableRole

ROLE = VariableRole.Role
HIER = VariableRole.Hierarchy

_DIRECT = re.compile(
    r"(^|_)(e_?mail|phone|tel|telephone|mobile|whatsapp|telegram|skype|linkedin|iin|bin|passport|"
    r"name|surname|first_?name|last_?name|full_?name|fio|address|street|postcode|zip|contact|url|website)(_|$)"
)
_TEXT_TYPES = {"text"}
# Words in a label that ask for a direct identifier, whatever the field's type.
_DIRECT_LABEL = re.compile(
    r"(^|_)(e_?mail|phone|telephone|mobile|whatsapp|telegram|iin|passport|surname|full_name|first_name|last_name|"
    r"home_address|postal_address|street|contact_details)(_|$)"
)
# Answers typed by the respondent: they leave only once an administrator has read them.
TYPED = {"text", "date", "time", "datetime"}
_NUMBER_TYPES = {"integer", "decimal", "range"}


@dataclass
class VariableInfo:
    name: str
    type: str
    label: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    role: str = ROLE.OTHER
    hierarchy: str = HIER.NONE
    reviewed: bool = False
    default_role: str = ROLE.OTHER
    default_hierarchy: str = HIER.NONE
    overridden: bool = False

    def get_role_display(self) -> str:
        return str(ROLE(self.role).label)

    def get_hierarchy_display(self) -> str:
        return str(HIER(self.hierarchy).label)

    @property
    def exported(self) -> bool:
        """Whether the variable can be in a file at all: direct identifiers never; free text, and typed answers
        (text, dates) in any role but quasi-identifier (generalised or suppressed), once reviewed."""
        if self.role == ROLE.DIRECT:
            return False
        if self.role == ROLE.FREE_TEXT or (self.type in TYPED and self.role != ROLE.QUASI):
            return self.reviewed
        return True


def _words(item: MergedField, english: str) -> str:
    return f"{item.name.lower()}__{re.sub(r'[^a-z0-9]+', '_', english.lower())}"


def default_role(item: MergedField, english_label: str = "") -> tuple[str, str]:
    """(role, hierarchy) of a variable from its type, name and English label."""
    name = item.name.lower()
    text = _words(item, english_label)
    has = lambda pattern: re.search(pattern, text) is not None  # noqa: E731
    chosen = item.type in {"select_one", "select_multiple", "rank", "country"}
    if not chosen and (_DIRECT.search(name) or _DIRECT_LABEL.search(text.split("__", 1)[-1])):
        return ROLE.DIRECT, HIER.NONE
    if item.type == "calculate":
        # A derived value (years abroad = this year - departure year) can give back what its sources'
        # generalisation hides: it is a quasi-identifier in bands of its own.
        return ROLE.QUASI, HIER.YEAR
    if has(r"(^|_)age(_|$)"):
        return ROLE.QUASI, HIER.AGE if item.type in _NUMBER_TYPES else HIER.CATEGORY
    if has(r"birth"):
        return (
            ROLE.QUASI,
            HIER.DATE if item.type == "date" else HIER.YEAR if item.type in _NUMBER_TYPES else HIER.CATEGORY,
        )
    if has(r"(^|_)(sex|gender)(_|$)"):
        return ROLE.QUASI, HIER.CATEGORY
    if item.type == "country" or has(r"(^|_)(country|citizenship|nationality)"):
        return ROLE.QUASI, HIER.COUNTRY if item.type in {"country", "select_one"} else HIER.TEXT
    if has(r"(^|_)(city|town|settlement|oblast|region|village)(_|$)"):
        return ROLE.QUASI, HIER.TEXT if item.type in _TEXT_TYPES else HIER.CATEGORY
    if has(r"(^|_)(field|specialty|speciality|discipline|isced|major)(_|$)"):
        return ROLE.QUASI, HIER.FIELD if chosen else HIER.TEXT
    if re.search(r"(^|_)(education|degree|study_level|level_of_study|qualification)(_|$)", name):
        return ROLE.QUASI, HIER.CATEGORY
    if has(r"(^|_)(programme|program|scholarship|cohort)(_|$)"):
        return ROLE.QUASI, HIER.YEAR if item.type in _NUMBER_TYPES else HIER.CATEGORY
    if item.type in _NUMBER_TYPES and re.search(r"(^|_)year$|^year(_|$)", name):
        return ROLE.QUASI, HIER.YEAR
    if has(r"(^|_)(employer|organisation|organization|company|workplace|university|institution)(_|$)"):
        return ROLE.QUASI, HIER.TEXT if item.type in _TEXT_TYPES else HIER.CATEGORY
    if has(r"(^|_)(occupation|profession|position|job_title|isco|sector)(_|$)"):
        return ROLE.QUASI, HIER.TEXT if item.type in _TEXT_TYPES else HIER.CATEGORY
    if has(r"(salary|income|wage|earning)") and not has(r"(barrier|factor|importance|satisf|reason)"):
        return ROLE.SENSITIVE, HIER.INCOME
    if has(r"(intention|intent|likelihood)"):
        return ROLE.SENSITIVE, HIER.NONE
    if item.type in _TEXT_TYPES:
        return ROLE.FREE_TEXT, HIER.NONE
    return ROLE.OTHER, HIER.NONE


def survey_fields(survey: Survey, language: str) -> list[MergedField]:
    """Every answer field of every version of the survey (newest labels), in `language`."""
    instruments = [version.instrument for version in survey.versions.order_by("-number")]
    # Entries of repeat groups (jobs, stays abroad: employers and places) stay out of research
    # files: one row per person is what the disclosure checks measure.
    return [item for item in merged_fields(instruments, language) if item.repeat is None]


def survey_variables(survey: Survey, language: str = "en") -> list[VariableInfo]:
    """The survey's variables with their roles: the administrator's where set, else the default."""
    english = {item.name: item.label for item in survey_fields(survey, "en")}
    stored = {row.name: row for row in VariableRole.objects.filter(survey=survey)}
    variables = []
    for item in survey_fields(survey, language):
        role, hierarchy = default_role(item, english.get(item.name, ""))
        info = VariableInfo(item.name, item.type, item.label, list(item.choices), role, hierarchy,
                            default_role=role, default_hierarchy=hierarchy)  # fmt: skip
        row = stored.get(item.name)
        if row is not None:
            info.role, info.hierarchy, info.reviewed, info.overridden = row.role, row.hierarchy, row.reviewed, True
        variables.append(info)
    return variables


class RoleError(ValueError):
    pass


def variable_role_set(*, survey: Survey, name: str, role: str, hierarchy: str, reviewed: bool, user: User) -> None:
    """An administrator's decision on one variable (audited); the default again when it matches."""
    known = {info.name: info for info in survey_variables(survey)}
    if name not in known:
        raise RoleError(f"The survey has no variable {name!r}.")
    if role not in ROLE.values or hierarchy not in HIER.values:
        raise RoleError("Unknown role or hierarchy.")
    info_type = {i.name: i.type for i in survey_variables(survey)}.get(name)
    if reviewed and role != ROLE.FREE_TEXT and info_type not in TYPED:
        reviewed = False  # only what respondents typed is reviewed
    info = known[name]
    before = {"role": info.role, "hierarchy": info.hierarchy, "reviewed": info.reviewed}
    after = {"role": role, "hierarchy": hierarchy, "reviewed": reviewed}
    if before == after:
        return
    if role == info.default_role and hierarchy == info.default_hierarchy and not reviewed:
        VariableRole.objects.filter(survey=survey, name=name).delete()
    else:
        VariableRole.objects.update_or_create(survey=survey, name=name, defaults={**after, "updated_by": user})
    audit_record(actor=user, action="research.variable_role_changed", target=survey,
                 programme_id=survey.programme_id, detail={"variable": name, "before": before, "after": after})  # fmt: skip
