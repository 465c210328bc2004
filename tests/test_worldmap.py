"""The world map drawn on the server: no line across the map where a country crosses the
antimeridian (Russia's Chukotka, Fiji)."""

import re

from hub.registry.worldmap import split_at_antimeridian, world_map


def rings(path):
    """The rings of SVG path data as the map writes it (``M x y l dx dy … z``), in absolute
    view-box units."""
    found = []
    for part in re.findall(r"M[^Mz]*z", path):
        numbers = [int(n) for n in re.findall(r"-?\d+", part)]
        x, y = numbers[0], numbers[1]
        ring = [(x, y)]
        for dx, dy in zip(numbers[2::2], numbers[3::2], strict=True):
            x, y = x + dx, y + dy
            ring.append((x, y))
        found.append(ring)
    return found


def test_no_country_is_drawn_across_the_whole_map():
    world = world_map()
    for code, path in [*world.shapes.items(), (None, world.unnamed)]:
        for ring in rings(path):
            for (x0, _), (x1, _) in zip(ring, [*ring[1:], ring[0]], strict=True):
                assert abs(x1 - x0) < world.width / 4, code


def test_russia_and_fiji_reach_both_edges_of_the_map():
    world = world_map()
    for code in ("RU", "FJ"):
        xs = [[x for x, _ in ring] for ring in rings(world.shapes[code])]
        west = [ring for ring in xs if min(ring) < world.width / 2 - 300]
        east = [ring for ring in xs if max(ring) > world.width / 2 + 300]
        assert west and east, code
        # No single ring does both: each side is a shape of its own.
        assert not any(min(r) < world.width / 2 - 300 < world.width / 2 + 300 < max(r) for r in xs)


def test_a_ring_across_the_antimeridian_is_cut_and_closed_along_it():
    island = [(179.0, -16.0), (-179.0, -16.0), (-179.0, -17.0), (179.0, -17.0), (179.0, -16.0)]
    parts = split_at_antimeridian(island)
    assert len(parts) == 2
    east, west = sorted(parts, key=lambda part: -max(lon for lon, _ in part))
    assert all(179 <= lon <= 180 for lon, _ in east)
    assert all(-180 <= lon <= -179 for lon, _ in west)
    assert {(180.0, -16.0), (180.0, -17.0)} <= set(east)
    assert {(-180.0, -16.0), (-180.0, -17.0)} <= set(west)
    inland = [(10.0, 0.0), (20.0, 0.0), (20.0, 10.0), (10.0, 0.0)]
    assert split_at_antimeridian(inland) == [inland]
