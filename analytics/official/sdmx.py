"""SDMX through `sdmx1`: our data structure, and SDMX messages turned into long-format rows.

We never parse SDMX XML or CSV ourselves: `sdmx.read_sdmx` reads the message and
`sdmx.to_pandas` turns each data set into a frame, whose columns are then renamed
to the long format (`INDICATOR` -> `indicator_code`, `value` -> `obs_value`, ...).

- SDMX-ML: generic data messages carry their own keys and need no structure; a
  structure-specific message needs its DSD, and we offer ours (`kelu_dsd()`,
  `KELU:DSD_MIGR(1.0)`, also committed as `analytics/data/sdmx/kelu_dsd.xml`).
- SDMX-CSV 2.0: sdmx1's reader needs a DSD to tell dimensions from attributes. A
  file from elsewhere comes with no DSD, so we build one from the file's header:
  the known attributes (`ATTRIBUTES`) and `OBS_VALUE` are what they say, every
  other column after the fixed `STRUCTURE`/`STRUCTURE_ID`/`ACTION` columns is a
  dimension. SDMX-CSV 1.0 (first column `DATAFLOW`) is not read by sdmx1 2.28 and is
  refused with a message saying so.
"""

from __future__ import annotations

import csv
import io
from functools import cache

import pandas as pd

# Our dimensions in SDMX names, in key order (TIME_PERIOD last, as SDMX has it).
DIMENSION_IDS = (
    "INDICATOR",
    "REF_AREA",
    "COUNTERPART_AREA",
    "FLOW",
    "SEX",
    "AGE",
    "EDUCATION",
    "SPECIALTY",
    "SCOPE",
    "TIME_PERIOD",
)
ATTRIBUTES = (
    "INDICATOR_NAME",
    "UNIT_MEASURE",
    "UNIT_MULT",
    "OBS_STATUS",
    "SOURCE_ORG",
    "SOURCE_TYPE",
    "SOURCE",
    "COMMENT_OBS",
    "OBS_COMMENT",
)
# SDMX component id (and sdmx1's "value" column) -> long-format column.
SDMX_TO_LONG = {
    "INDICATOR": "indicator_code",
    "value": "obs_value",
    "OBS_VALUE": "obs_value",
    "COMMENT_OBS": "comment",
    "OBS_COMMENT": "comment",
    **{c: c.lower() for c in DIMENSION_IDS[1:] + ATTRIBUTES[:-2]},
}
# Columns that carry nothing the long format keeps: the frequency is in the period's form.
IGNORED = {"FREQ", "DECIMALS"}

META_COLUMNS = {"STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION", "SERIES_KEY", "OBS_KEY"}


class SdmxError(ValueError):
    """An SDMX message sdmx1 could not read, with its reason."""


def _dsd(dsd_id: str, dimensions: list[str], attributes: list[str]):
    from sdmx.model import common, v21

    dsd = v21.DataStructureDefinition(id=dsd_id, maintainer=common.Agency(id="KELU"), version="1.0")
    for order, dim in enumerate(dimensions):
        cls = v21.TimeDimension if dim == "TIME_PERIOD" else common.Dimension
        dsd.dimensions.append(cls(id=dim, order=order))
    dsd.measures.append(v21.PrimaryMeasure(id="OBS_VALUE"))
    for attr in attributes:
        dsd.attributes.append(common.DataAttribute(id=attr, related_to=v21.PrimaryMeasureRelationship()))
    return dsd


@cache
def kelu_dsd():
    """The DSD of our long format: its dimensions and attributes, in SDMX names."""
    return _dsd("DSD_MIGR", list(DIMENSION_IDS), list(ATTRIBUTES))


def kelu_dsd_xml() -> bytes:
    """`kelu_dsd()` as an SDMX-ML 2.1 structure message (the committed file is this output)."""
    import sdmx
    from sdmx.message import StructureMessage

    message = StructureMessage()
    message.add(kelu_dsd())
    return sdmx.to_xml(message, pretty_print=True)


def _frames(message) -> list[pd.DataFrame]:
    import sdmx

    frames = []
    for data_set in message.data:
        if not data_set.obs:
            continue
        frame = sdmx.to_pandas(data_set, attributes="osgd", dtype=None)
        frames.append(frame.reset_index())
    return frames


def _to_rows(frames: list[pd.DataFrame]) -> list[dict[str, str]]:
    rows = []
    for frame in frames:
        for record in frame.to_dict("records"):
            row: dict[str, str] = {}
            for column, value in record.items():
                if column in IGNORED or value is None or (isinstance(value, float) and pd.isna(value)):
                    continue
                text = str(value.value if hasattr(value, "value") else value)
                row[SDMX_TO_LONG.get(column, column)] = text
            rows.append(row)
    return rows


def read_sdmx_ml(content: bytes) -> tuple[list[dict[str, str]], str]:
    """Rows of an SDMX-ML data message, and the id of its structure."""
    import sdmx

    try:
        message = sdmx.read_sdmx(io.BytesIO(content), format="XML")
    except Exception as first:  # noqa: BLE001 - any reader failure: retry with our DSD, then report it
        try:
            message = sdmx.read_sdmx(io.BytesIO(content), format="XML", structure=kelu_dsd())
        except Exception:  # noqa: BLE001
            raise SdmxError(str(first) or first.__class__.__name__) from first
    if not hasattr(message, "data"):
        raise SdmxError("the file is an SDMX structure message, not data")
    structure = ""
    for data_set in message.data:
        if data_set.structured_by is not None:
            structure = data_set.structured_by.id
            break
    return _to_rows(_frames(message)), structure


def read_sdmx_csv(text: str) -> tuple[list[dict[str, str]], str]:
    """Rows of an SDMX-CSV 2.0 file, read by sdmx1 with a DSD built from the header."""
    import sdmx

    lines = text.splitlines()
    header = next(csv.reader(lines[:1]), [])
    if not header or not header[0].startswith("STRUCTURE"):
        if header and header[0].upper() == "DATAFLOW":
            raise SdmxError("SDMX-CSV 1.0 (first column DATAFLOW) is not supported; export SDMX-CSV 2.0")
        raise SdmxError("not SDMX-CSV 2.0: the first column must be STRUCTURE")
    if "ACTION" not in header:
        # sdmx1 2.28 files every observation under its action; without the column it
        # cannot, so we add the default ("I": information) to every line.
        lines = [lines[0].replace("STRUCTURE_ID", "STRUCTURE_ID,ACTION", 1)] + [
            _insert_action(line) for line in lines[1:] if line.strip()
        ]
        header = next(csv.reader(lines[:1]))
    dimensions = [c for c in header if c not in META_COLUMNS and c not in ATTRIBUTES and c != "OBS_VALUE"]
    attributes = [c for c in header if c in ATTRIBUTES]
    structure_id = next(csv.reader(lines[1:2]), ["", ""])[1] if len(lines) > 1 else ""
    dsd = _dsd("DSD_FROM_HEADER", dimensions, attributes)
    try:
        message = sdmx.read_sdmx(io.BytesIO("\n".join(lines).encode()), format="CSV", structure=dsd)
    except Exception as exc:  # noqa: BLE001
        raise SdmxError(str(exc) or exc.__class__.__name__) from exc
    return _to_rows(_frames(message)), structure_id


def _insert_action(line: str) -> str:
    buffer = io.StringIO()
    fields = next(csv.reader([line]))
    csv.writer(buffer, lineterminator="").writerow([*fields[:2], "I", *fields[2:]])
    return buffer.getvalue()
