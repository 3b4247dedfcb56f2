"""Geometry of the server-rendered SVG bar charts.

Every bar carries its number as text beside it and its label in words, so a chart reads without
colour and prints in black and white; the table next to each chart holds the same rows.
"""

import datetime as dt
from dataclasses import dataclass

from utilities.dates import month_label, month_start

LABEL_WIDTH = 190
BAR_AREA = 290
VALUE_GAP = 6
ROW_HEIGHT = 22
BAR_HEIGHT = 15
LABEL_CHARS = 28


@dataclass(frozen=True)
class Bar:
    key: object
    label: str
    short_label: str
    count: int
    y: int
    width: float
    value_x: float


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    month: str
    year: str
    count: int
    x: float
    y: float
    value_y: float
    height: float
    centre: float


def _shorten(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def horizontal_bars(rows: list[dict]) -> dict:
    """A chart of `rows` (`key`, `label`, `count`) as horizontal bars, longest on top."""
    peak = max((row["count"] for row in rows), default=0) or 1
    bars = []
    for index, row in enumerate(rows):
        width = round(BAR_AREA * row["count"] / peak, 1)
        bars.append(
            Bar(
                key=row["key"],
                label=str(row["label"]),
                short_label=_shorten(str(row["label"])),
                count=row["count"],
                y=index * ROW_HEIGHT,
                width=width,
                value_x=LABEL_WIDTH + width + VALUE_GAP,
            )
        )
    return {
        "bars": bars,
        "label_width": LABEL_WIDTH,
        "label_x": LABEL_WIDTH - VALUE_GAP,
        "width": LABEL_WIDTH + BAR_AREA + 50,
        "height": max(len(rows), 1) * ROW_HEIGHT,
        "bar_height": BAR_HEIGHT,
        "text_dy": BAR_HEIGHT - 3,
    }


def month_keys(first: dt.date, last: dt.date) -> list[str]:
    """`YYYY-MM` for every month from `first`'s to `last`'s, both included."""
    keys = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


COLUMN_WIDTH = 38
PLOT_HEIGHT = 160
TOP_MARGIN = 18


def month_columns(keys: list[str], counts: dict[str, int]) -> dict:
    """A column per month in `keys` (zero where nothing happened), with its count above it."""
    peak = max((counts.get(key, 0) for key in keys), default=0) or 1
    columns = []
    for index, key in enumerate(keys):
        date = month_start(key)
        count = counts.get(key, 0)
        height = round(PLOT_HEIGHT * count / peak, 1)
        x = index * COLUMN_WIDTH + 4
        columns.append(
            Column(
                key=key,
                label=month_label(date),
                month=date.strftime("%b"),
                # The year is written under January and under the first column only.
                year=str(date.year) if index == 0 or date.month == 1 else "",
                count=count,
                x=x,
                y=TOP_MARGIN + PLOT_HEIGHT - height,
                value_y=TOP_MARGIN + PLOT_HEIGHT - height - 4,
                height=height,
                centre=x + (COLUMN_WIDTH - 8) / 2,
            )
        )
    return {
        "columns": columns,
        "width": max(len(keys), 1) * COLUMN_WIDTH,
        "height": TOP_MARGIN + PLOT_HEIGHT + 34,
        "column_width": COLUMN_WIDTH - 8,
        "baseline": TOP_MARGIN + PLOT_HEIGHT,
        "month_y": TOP_MARGIN + PLOT_HEIGHT + 14,
        "year_y": TOP_MARGIN + PLOT_HEIGHT + 28,
    }
