"""Reading official statistics and country groupings.

Official observations are public: everyone signed in reads them all. Country-group
schemes the platform ships are read by everyone; a programme's uploaded schemes by
the administrators of that programme.
"""

from __future__ import annotations

import pandas as pd
from django.db.models import F, Q, QuerySet

from accounts.scoping import administered_ids

from ..models.official import DIMENSIONS, CountryGroupScheme, Observation, OfficialImport

FRAME_COLUMNS = [
    *DIMENSIONS,
    "indicator_name",
    "obs_value",
    "unit_measure",
    "unit_mult",
    "obs_status",
    "source_org",
    "source_type",
    "source",
    "comment",
    "flags",
    "vintage_id",
]
FILTERS = {"indicator": "indicator_code", "dataset": "vintage__dataset__code", **{d: d for d in DIMENSIONS}}


def observations(*, vintage: int | None = None, **filters) -> QuerySet[Observation]:
    """Observations matching `filters` (see `observations_frame`), ordered latest vintage first per key."""
    queryset = Observation.objects.all()
    for name, value in filters.items():
        if value in (None, ""):
            continue
        field = FILTERS.get(name)
        if field is None:
            raise TypeError(f"unknown filter {name!r}; use one of {sorted(FILTERS)}")
        lookup = f"{field}__in" if isinstance(value, list | tuple | set) else field
        queryset = queryset.filter(**{lookup: value})
    if vintage is not None:
        queryset = queryset.filter(vintage_id=vintage)
    return queryset.order_by(*DIMENSIONS, "-vintage__source_import_id", "vintage__rank")


def observations_frame(*, vintage: int | None = None, all_vintages: bool = False, **filters) -> pd.DataFrame:
    """Observations as a frame, one row per key: its latest vintage unless told otherwise.

    Filters: indicator (or indicator_code), dataset, and any dimension
    (ref_area, counterpart_area, flow, time_period, sex, age, education, specialty,
    scope); a list means any of them. `vintage` (an id) reads that vintage only;
    `all_vintages=True` keeps every value of every key. "Latest" is the most recent
    import, and within one import the first value a file gave for the key (rank 1).
    Columns: FRAME_COLUMNS plus vintage_label, vintage_rank, dataset, import_id, and
    obs_value as float.
    """
    queryset = observations(vintage=vintage, **filters).values(
        *FRAME_COLUMNS,
        vintage_label=F("vintage__label"),
        vintage_rank=F("vintage__rank"),
        dataset=F("vintage__dataset__code"),
        import_id=F("vintage__source_import_id"),
    )
    frame = pd.DataFrame.from_records(list(queryset))
    if frame.empty:
        return pd.DataFrame(columns=[*FRAME_COLUMNS, "vintage_label", "vintage_rank", "dataset", "import_id"])
    frame["obs_value"] = frame["obs_value"].astype(float)
    if not all_vintages and vintage is None:
        frame = frame.drop_duplicates(subset=list(DIMENSIONS), keep="first")
    return frame.reset_index(drop=True)


def imports_list() -> QuerySet[OfficialImport]:
    return OfficialImport.objects.select_related("dataset", "uploaded_by")


def group_schemes_for(user) -> QuerySet[CountryGroupScheme]:
    """Platform schemes, and the schemes of programmes this user administers."""
    mine = Q(programme_id__in=list(administered_ids(user))) if user.is_authenticated else Q(pk__in=[])
    return CountryGroupScheme.objects.filter(Q(programme__isnull=True) | mine).select_related("programme")
