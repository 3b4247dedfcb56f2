"""A world map of counts per country, drawn on the server as SVG.

The shapes are Natural Earth's 1:110m countries from the `world-atlas` npm package (the same file
is served at /static/vendor/world-atlas/countries-110m.json), projected once per process with the
Equal Earth projection, which keeps areas true so a large country does not look more active
than a small one. Nothing is fetched from the internet and the page needs no JavaScript.
"""

import json
import math
from dataclasses import dataclass
from functools import cache

import pycountry
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.utils.html import escape
from django.utils.safestring import mark_safe

ATLAS_PATH = "vendor/world-atlas/countries-110m.json"
WIDTH = 960
# Antarctica hosts no city counterparts and would take a fifth of the height.
LEFT_OUT = {"010"}
# Natural Earth shapes without an ISO numeric code that still have an ISO 3166-1 alpha-2 in use.
UNCODED_NAMES = {"Kosovo": "XK"}
BUCKETS = 4

# Equal Earth (Šavrič, Patterson & Jenny 2018).
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2


def _equal_earth(longitude: float, latitude: float) -> tuple[float, float]:
    lam, phi = math.radians(longitude), math.radians(latitude)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (_M * (_A1 + 3 * _A2 * t2 + t6 * (7 * _A3 + 9 * _A4 * t2)))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return x, y


@dataclass(frozen=True)
class Shape:
    iso2: str
    name: str
    path: str


@dataclass(frozen=True)
class Atlas:
    width: int
    height: int
    shapes: tuple[Shape, ...]


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list, indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        # Consecutive arcs share their joining point.
        points.extend(arc[1:] if points else arc)
    return _unwrapped(points)


def _unwrapped(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A ring crossing the antimeridian (Russia's Chukotka, Fiji) would be drawn as a line across
    the whole map; keep it on the side where most of it lies, the rest past the map's edge."""
    if not any(abs(a[0] - b[0]) > 180 for a, b in zip(points, points[1:], strict=False)):
        return points
    if sum(1 for longitude, _ in points if longitude > 0) * 2 >= len(points):
        return [(longitude + 360 if longitude < 0 else longitude, latitude) for longitude, latitude in points]
    return [(longitude - 360 if longitude > 0 else longitude, latitude) for longitude, latitude in points]


@cache
def atlas() -> Atlas:
    """Every country's projected outline, computed once per process (the data never changes)."""
    location = finders.find(ATLAS_PATH)
    if not location:
        raise ImproperlyConfigured(f"{ATLAS_PATH} is missing: run `npm ci` (the Makefile's setup does).")
    with open(location, encoding="utf-8") as handle:
        topology = json.load(handle)
    arcs = _decode_arcs(topology)
    left, _ = _equal_earth(-180, 0)
    right, _ = _equal_earth(180, 0)
    _, top = _equal_earth(0, 84)
    _, bottom = _equal_earth(0, -58)
    scale = WIDTH / (right - left)
    height = round((top - bottom) * scale)

    def project(point: tuple[float, float]) -> tuple[float, float]:
        x, y = _equal_earth(*point)
        return round((x - left) * scale), round((top - y) * scale)

    shapes = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        name = geometry["properties"]["name"]
        if numeric in LEFT_OUT:
            continue
        country = pycountry.countries.get(numeric=numeric) if numeric else None
        iso2 = country.alpha_2 if country else UNCODED_NAMES.get(name, "")
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        commands = []
        for polygon in polygons:
            for ring in polygon:
                projected = []
                for point in map(project, _ring(arcs, ring)):
                    if not projected or projected[-1] != point:
                        projected.append(point)
                if len(projected) > 2:
                    commands.append("M" + "L".join(f"{x} {y}" for x, y in projected) + "Z")
        shapes.append(Shape(iso2=iso2, name=name, path="".join(commands)))
    return Atlas(width=WIDTH, height=height, shapes=tuple(shapes))


@dataclass(frozen=True)
class MapCountry:
    iso2: str
    name: str
    path: str
    count: int
    bucket: int


@dataclass(frozen=True)
class LegendEntry:
    bucket: int
    low: int
    high: int


def buckets(counts: dict[str, int]) -> dict[int, int]:
    """Each distinct non-zero count's class, 1..BUCKETS, by rank, so equal counts share a class."""
    distinct = sorted({count for count in counts.values() if count > 0})
    if len(distinct) <= 1:
        return dict.fromkeys(distinct, BUCKETS)
    if len(distinct) <= BUCKETS:
        # Few values: spread them from the lightest class to the darkest.
        return {value: 1 + round(rank * (BUCKETS - 1) / (len(distinct) - 1)) for rank, value in enumerate(distinct)}
    return {value: 1 + rank * BUCKETS // len(distinct) for rank, value in enumerate(distinct)}


def world_map(counts: dict[str, int], names: dict[str, str] | None = None, unit: str = "engagements") -> dict:
    """The template context of `dashboards/_world_map.html` for `counts` keyed by ISO alpha-2.

    `names` (alpha-2 -> the project's country name) labels countries the way the tables do;
    `unit` says what is counted."""
    drawing = atlas()
    names = names or {}
    classes = buckets(counts)
    countries = [
        MapCountry(
            iso2=shape.iso2,
            name=names.get(shape.iso2, shape.name),
            path=shape.path,
            count=counts.get(shape.iso2, 0),
            bucket=classes.get(counts.get(shape.iso2, 0), 0),
        )
        for shape in drawing.shapes
    ]
    # The outlines are written here rather than by a template loop over ~180 countries: the page
    # renders in a fraction of the time, and the path data (digits and M, L, Z) needs no escaping.
    paths = "\n".join(
        '<path class="b{bucket}"{fill} data-iso2="{iso2}" d="{path}"><title>{title}</title></path>'.format(
            bucket=country.bucket,
            fill=f' fill="url(#wm-b{country.bucket})"' if country.bucket else "",
            iso2=escape(country.iso2),
            path=country.path,
            title=escape(f"{country.name}: {country.count} {unit}"),
        )
        for country in countries
    )
    legend = []
    for bucket in range(1, BUCKETS + 1):
        members = [value for value, klass in classes.items() if klass == bucket]
        if members:
            legend.append(LegendEntry(bucket=bucket, low=min(members), high=max(members)))
    drawn = {shape.iso2 for shape in drawing.shapes}
    return {
        "width": drawing.width,
        "height": drawing.height,
        "countries": countries,
        "paths": mark_safe(paths),  # noqa: S308 - every part above is escaped or numeric
        "unit": unit,
        "legend": legend,
        # Counterparts too small for the 1:110m map (Singapore, Malta, ...) still count: the
        # table lists them, and the map says how many it could not draw.
        "undrawn": sorted(iso2 for iso2, count in counts.items() if count and iso2 not in drawn),
    }
