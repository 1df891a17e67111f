"""Pure computations on observation frames (from `selectors.observations_frame`).

Flows and stocks never add up: a flow counts events over a period (departures in
2022), a stock counts people at a moment (students abroad in 2021). `aggregate`
refuses a frame that mixes them, or mixes units, instead of returning a number
that means nothing.
"""

from __future__ import annotations

import pandas as pd

from .codes import FLOWS, STOCK


class MixedFlowError(ValueError):
    """An aggregate was asked to add flows to stocks (or values in different units)."""


def flow_kind(flow: str) -> str:
    """'flow' for OUT/IN/NET/MOVE, 'stock' for STOCK, 'none' for _Z."""
    if flow in FLOWS:
        return "flow"
    return "stock" if flow == STOCK else "none"


def check_summable(frame: pd.DataFrame) -> None:
    """Raise `MixedFlowError` when the rows of `frame` may not be added together."""
    kinds = {flow_kind(f) for f in frame["flow"].unique()}
    if len(kinds) > 1:
        raise MixedFlowError(f"cannot add flows to stocks (flow codes: {sorted(frame['flow'].unique())})")
    if "unit_measure" in frame and frame["unit_measure"].nunique() > 1:
        raise MixedFlowError(f"cannot add values in different units ({sorted(frame['unit_measure'].unique())})")


def aggregate(frame: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Sum `value` (in units: obs_value x 10^unit_mult, see `with_units`) by the columns `by`.

    Raises `MixedFlowError` if the frame mixes flow kinds or units, whatever `by` is:
    even grouped by flow, a request that sums across kinds is a mistake upstream.
    """
    check_summable(frame)
    if value not in frame:
        frame = with_units(frame)
    return frame.groupby(by, dropna=False, as_index=False)[value].sum()


def with_units(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `value`: obs_value in units (16451.7 thousand -> 16451700.0)."""
    return frame.assign(value=frame["obs_value"].astype(float) * (10.0 ** frame["unit_mult"].astype(int)))
