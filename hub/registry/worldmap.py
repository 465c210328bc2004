"""The world map of the network, drawn on the server as SVG paths.

The boundaries are Natural Earth's 1:110m admin-0 countries (public domain) as packaged by the npm
package ``world-atlas`` 2.0.2 (``geodata/countries-110m.json``, TopoJSON; see
``geodata/README.md``). Its country ids are ISO 3166-1 numeric codes; CLDR's territory aliases,
shipped with Babel, turn them into the alpha-2 codes the registry uses.

The shapes are projected once per process with the Equal Earth projection (equal-area, so no
continent looks bigger than it is) into a 1000-unit-wide view box, rounded to whole units (about
one screen pixel on a wide screen) and written as relative path commands, which keeps the map a
few dozen kilobytes of markup and needs no script to show.
"""

import functools
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from babel.core import get_global

GEODATA = Path(__file__).parent / "geodata" / "countries-110m.json"
WIDTH = 1000  # view-box units across the map
SMALL = 8  # a country narrower and lower than this many units gets a marker as well
ANTARCTICA = "AQ"  # left out: no programme there, and it would take a fifth of the height

# Equal Earth (Šavrič, Patterson & Jenny 2018).
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_M = math.sqrt(3) / 2


def equal_earth(longitude, latitude):
    """Project degrees of longitude and latitude; y grows northwards, as on paper."""
    lam, phi = math.radians(longitude), math.radians(latitude)
    theta = math.asin(_M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (_M * (_A1 + 3 * _A2 * t2 + t6 * (7 * _A3 + 9 * _A4 * t2)))
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return x, y


@dataclass(frozen=True)
class WorldMap:
    width: int
    height: int
    shapes: dict  # alpha-2 code → SVG path data
    unnamed: str  # path data of the territories without an ISO code (Kosovo, N. Cyprus, …)
    # Countries too small to see or to point at on a world map (Brunei, Rwanda, El Salvador…):
    # alpha-2 code → the centre of their shape, where the map adds a marker.
    small: dict

    def others(self, codes):
        """Path data of every territory whose code is not in ``codes``, as one path."""
        return "".join(path for code, path in self.shapes.items() if code not in codes) + (
            self.unnamed
        )


def _arcs(topology):
    """The arcs as lists of (longitude, latitude), undoing TopoJSON's quantisation and deltas."""
    (kx, ky), (dx, dy) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for qx, qy in arc:
            x, y = x + qx, y + qy
            points.append((x * kx + dx, y * ky + dy))
        decoded.append(points)
    return decoded


def _ring(arcs, indexes):
    """A closed ring from arc indexes (``~i`` is arc ``i`` reversed), each shared point once."""
    points = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def _unwrapped(ring):
    """The ring with its longitudes made continuous: a step of more than 180° is taken the
    short way, across the antimeridian, so the ring may reach past ±180 (Chukotka at 190°)."""
    points, shift = [ring[0]], 0.0
    for (lon0, _), (lon, lat) in itertools.pairwise(ring):
        if lon - lon0 > 180:
            shift -= 360
        elif lon0 - lon > 180:
            shift += 360
        points.append((lon + shift, lat))
    return points


def _clip(ring, keep, edge):
    """The part of ``ring`` on the side of the meridian ``edge`` that ``keep`` accepts
    (Sutherland–Hodgman against one line: exact for any ring, the cut closed along it)."""
    clipped = []
    for i, current in enumerate(ring):
        previous = ring[i - 1]
        if keep(current[0]) != keep(previous[0]):
            share = (edge - previous[0]) / (current[0] - previous[0])
            clipped.append((edge, previous[1] + share * (current[1] - previous[1])))
        if keep(current[0]):
            clipped.append(current)
    return clipped


def _along_edge(ring, step=1.0):
    """``ring`` with points added every ``step`` degrees where it runs along the antimeridian:
    the map's edge is curved, and a straight line between two far points of it would cut
    across the sea."""
    dense = []
    for i, (lon, lat) in enumerate(ring):
        dense.append((lon, lat))
        nxt = ring[(i + 1) % len(ring)]
        if abs(lon) == 180 and nxt[0] == lon and abs(nxt[1] - lat) > step:
            count = int(abs(nxt[1] - lat) // step)
            sign = 1 if nxt[1] > lat else -1
            dense.extend((lon, lat + sign * step * k) for k in range(1, count + 1))
    return dense


def split_at_antimeridian(ring):
    """A ring in degrees as the rings that draw it on a map cut at ±180°: itself when it does
    not cross the antimeridian; else its parts on each side, each closed along the map's edge.
    Drawn as it is, a ring that crosses (Russia's Chukotka, Fiji) would join its two ends with a
    line across the whole map."""
    points = _unwrapped(ring)
    if all(-180 <= lon <= 180 for lon, _ in points):
        return [ring]
    parts = []
    for keep, edge, shift in (
        (lambda lon: lon < -180, -180, 360),
        (lambda lon: -180 <= lon <= 180, None, 0),
        (lambda lon: lon > 180, 180, -360),
    ):
        part = points
        if edge is None:
            part = _clip(_clip(points, lambda lon: lon >= -180, -180), lambda lon: lon <= 180, 180)
        else:
            part = _clip(points, keep, edge)
        if len(part) >= 3:
            parts.append(_along_edge([(lon + shift, lat) for lon, lat in part]))
    return parts


def _polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["arcs"]
    return []


def _path(rings):
    """SVG path data: absolute start, then relative steps; steps that round to nothing and rings
    that collapse to fewer than three points at this scale are left out."""
    parts = []
    for ring in rings:
        steps, last = [], ring[0]
        for point in ring[1:]:
            if point != last:
                steps.append((point[0] - last[0], point[1] - last[1]))
                last = point
        if len(steps) < 3:
            continue
        numbers = [n for step in steps for n in step]
        parts.append(f"M{ring[0][0]} {ring[0][1]}l{_compact(numbers)}z")
    return "".join(parts)


def _compact(numbers):
    """Numbers as SVG path syntax allows them: a minus sign separates as well as a space."""
    text = str(numbers[0])
    for number in numbers[1:]:
        text += str(number) if number < 0 else f" {number}"
    return text


@functools.cache
def _projected():
    """Every territory's rings, projected (Equal Earth units, y northwards): ``[(code or None,
    rings)]``, read and projected once per process."""
    topology = json.loads(GEODATA.read_text(encoding="utf-8"))
    arcs = _arcs(topology)
    aliases = get_global("territory_aliases")
    geometries = topology["objects"]["countries"]["geometries"]
    projected = []  # (code or None, [[(x, y), …], …])
    for geometry in geometries:
        replacement = aliases.get(geometry.get("id", ""), [None])
        code = replacement[0] if len(replacement) == 1 else None
        if code == ANTARCTICA:
            continue
        rings = [
            [equal_earth(*point) for point in part]
            for polygon in _polygons(geometry)
            for ring in polygon
            for part in split_at_antimeridian(_ring(arcs, ring))
        ]
        projected.append((code, rings))
    return projected


@functools.cache
def world_map():
    """The projected map: every country's path data by alpha-2 code (computed once per process)."""
    projected = _projected()
    xs = [x for _, rings in projected for ring in rings for x, _ in ring]
    ys = [y for _, rings in projected for ring in rings for _, y in ring]
    left, top = min(xs), max(ys)
    scale = WIDTH / (max(xs) - left)
    height = math.ceil((top - min(ys)) * scale)
    shapes, unnamed, small = {}, [], {}
    for code, rings in projected:
        screen = [
            [(round((x - left) * scale), round((top - y) * scale)) for x, y in ring]
            for ring in rings
        ]
        if code is None:
            unnamed.append(_path(screen))
            continue
        shapes[code] = _path(screen)
        xs = [x for ring in screen for x, _ in ring]
        ys = [y for ring in screen for _, y in ring]
        if max(xs) - min(xs) < SMALL and max(ys) - min(ys) < SMALL:
            small[code] = ((max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
    return WorldMap(WIDTH, height, shapes, "".join(unnamed), small)


POINT_MAP_SIZE = 240  # view-box units of the longer side of a country's map with a point
NEAR = 0.3  # projected units (about 17°): a country's parts farther from the point are left out
LEAST_SPAN = 0.03  # the least extent drawn (about 2°), for a point in a small country


@dataclass(frozen=True)
class PointMap:
    """A country's map with one point on it: the country's path data, and where the point is,
    in a view box ``width`` × ``height``."""

    width: int
    height: int
    shape: str
    x: float
    y: float


@functools.cache
def _country_rings():
    return {code: rings for code, rings in _projected() if code is not None}


def _distance(ring, x, y):
    """How far the point is from the ring's bounding box (0 inside it), in projected units."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return math.hypot(max(min(xs) - x, 0, x - max(xs)), max(min(ys) - y, 0, y - max(ys)))


def point_map(code, longitude, latitude, size=POINT_MAP_SIZE):
    """The map of the country ``code`` with a point at ``longitude``, ``latitude``, projected as
    the world map is: the country's parts near the point (a country's far islands and
    territories would make the rest a speck), framed with a margin around them and the point."""
    x, y = equal_earth(longitude, latitude)
    rings = [ring for ring in _country_rings().get(code, ()) if _distance(ring, x, y) < NEAR]
    xs = [px for ring in rings for px, _ in ring] + [x]
    ys = [py for ring in rings for _, py in ring] + [y]
    span = max(max(xs) - min(xs), max(ys) - min(ys), LEAST_SPAN)
    margin = span * 0.06
    # Centred on the drawing, which may be smaller than the least span.
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    half_x = max(max(xs) - min(xs), LEAST_SPAN) / 2 + margin
    half_y = max(max(ys) - min(ys), LEAST_SPAN) / 2 + margin
    left, top = mid_x - half_x, mid_y + half_y
    scale = size / (2 * max(half_x, half_y))
    screen = [
        [(round((px - left) * scale), round((top - py) * scale)) for px, py in ring]
        for ring in rings
    ]
    return PointMap(
        math.ceil(2 * half_x * scale),
        math.ceil(2 * half_y * scale),
        _path(screen),
        round((x - left) * scale, 1),
        round((top - y) * scale, 1),
    )
