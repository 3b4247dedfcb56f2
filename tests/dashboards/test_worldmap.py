"""The world map drawn from the world-atlas package: every country an outline, none streaking
across the map, and classes that keep equal counts together."""

import re

from dashboards.worldmap import atlas, buckets, world_map


def ring_widths(path: str) -> list[int]:
    widths = []
    for ring in path.split("Z"):
        xs = [int(x) for x in re.findall(r"[ML](-?\d+) ", ring)]
        if xs:
            widths.append(max(xs) - min(xs))
    return widths


def test_every_country_has_an_outline_and_none_crosses_the_whole_map():
    drawing = atlas()
    assert len(drawing.shapes) > 170
    assert all(shape.path.startswith("M") for shape in drawing.shapes)
    # Fiji and Russia's Chukotka straddle the antimeridian; drawn naively they span the map.
    widest = max(width for shape in drawing.shapes for width in ring_widths(shape.path))
    assert widest < drawing.width / 2


def test_countries_are_known_by_their_iso_codes():
    codes = {shape.iso2 for shape in atlas().shapes}
    assert {"US", "JP", "DE", "BR", "NA", "XK", "TW"} <= codes


def test_equal_counts_share_a_class_and_the_largest_is_darkest():
    classes = buckets({"JP": 40, "DE": 3, "FR": 3, "BR": 1, "MX": 0})
    assert classes == {1: 1, 3: 3, 40: 4}
    many = buckets({code: n for n, code in enumerate(["A", "B", "C", "D", "E", "F", "G", "H"], start=1)})
    assert sorted(many.values()) == [1, 1, 2, 2, 3, 3, 4, 4]


def test_the_legend_and_the_countries_too_small_to_draw():
    drawn = world_map({"JP": 5, "SG": 2}, {"JP": "Japan"})
    japan = next(country for country in drawn["countries"] if country.iso2 == "JP")
    assert (japan.name, japan.count, japan.bucket) == ("Japan", 5, 4)
    assert [(entry.low, entry.high) for entry in drawn["legend"]] == [(2, 2), (5, 5)]
    assert drawn["undrawn"] == ["SG"]
