"""The media figures: a 12-megapixel photo processed as the hub's job processes it (every
variant), against Pillow alone doing the same work, each in a child process of its own (wall
time of the work, peak resident memory); and the photo's variants stored in the bench's
instance media folder, which the hub's server then serves (``/media/<key>``, an HTTP figure of
bench/run.py).

The photo is made here, deterministically: 4000 × 3000 pixels of smooth colour fields, a
gradient, mid-frequency texture and per-channel noise (so that it compresses like a photo, not
like a flat test card), saved as a JPEG at quality 92 with an EXIF orientation (6: turned a
quarter), camera and GPS tags, and a colour profile other than sRGB, so that every step of the
processing runs: the orientation, the metadata left behind, the conversion to sRGB.
"""

import hashlib
import io
import json
import random
import statistics
import struct
import sys
from pathlib import Path

from bench.dataset import CACHE_DIR

WIDTH, HEIGHT = 4000, 3000
SEED = 1912
QUALITY = 92
ORIENTATION = 6  # the camera was turned: shown 3000 × 4000 after the orientation is applied
MODES = ("hub", "pillow", "pillow_full")


def _s15f16(value):
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x, y, z):
    return b"XYZ " + b"\0" * 4 + _s15f16(x) + _s15f16(y) + _s15f16(z)


def wide_gamut_profile():
    """An ICC v2 RGB display profile with the primaries of Adobe RGB (1998) (adapted to D50)
    and a 2.2 gamma, written here byte by byte (Pillow can only make sRGB, Lab and XYZ ones):
    converting from it to sRGB changes the pixels, as a camera's profile does."""
    name = b"Bench wide-gamut RGB (Adobe RGB 1998 primaries, gamma 2.2)"
    desc = (
        b"desc"
        + b"\0" * 4
        + struct.pack(">I", len(name) + 1)
        + name
        + b"\0"
        + b"\0" * 8  # no Unicode description
        + b"\0" * 3  # no ScriptCode description
        + b"\0" * 67
    )
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0" * 2  # 563/256 = 2.199
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright: made by the hub's bench\0"),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz_tag(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", _xyz_tag(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", _xyz_tag(0.14919, 0.06322, 0.74457)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table.append(signature + struct.pack(">II", offset + len(data), len(body)))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4  # preferred CMM
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(0.9642)
        + _s15f16(1.0)
        + _s15f16(0.8249)
        + b"\0" * 4  # creator
        + b"\0" * 44  # profile id and reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


def _photo():
    from PIL import Image, ImageChops

    rng = random.Random(SEED)
    size = (WIDTH, HEIGHT)
    # Colour fields: a coarse random image enlarged smoothly (sky, walls, fabric, leaves).
    fields = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
    image = fields.resize(size, Image.Resampling.BICUBIC)
    # Light falling off towards the corners (a lens's vignette).
    light = ImageChops.invert(Image.radial_gradient("L")).resize(size, Image.Resampling.BILINEAR)
    light = light.point(lambda v: 80 + v * 11 // 16)
    image = ImageChops.multiply(image, Image.merge("RGB", [light] * 3))
    # Texture: finer random detail, then sensor noise in each channel.
    texture = Image.frombytes("RGB", (800, 600), rng.randbytes(800 * 600 * 3))
    image = Image.blend(image, texture.resize(size, Image.Resampling.BILINEAR), 0.18)
    noise = Image.merge(
        "RGB", [Image.frombytes("L", size, rng.randbytes(WIDTH * HEIGHT)) for _ in range(3)]
    )
    return Image.blend(image, noise, 0.05)


def _exif():
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = ORIENTATION
    exif[0x010F] = "Bench"  # Make
    exif[0x0110] = "Deterministic 12MP"  # Model
    exif[0x0132] = "2026:12:04 09:30:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps.update(
        {
            1: "N",
            2: (21.0, 1.0, 42.0),  # Hà Nội, so that stripping the GPS tags means something
            3: "E",
            4: (105.0, 51.0, 12.0),
        }
    )
    return exif.tobytes()


def _version():
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def photo_file():
    """The cached 12 MP JPEG (made if missing, in a few seconds): its path."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"photo-{_version()}-{WIDTH}x{HEIGHT}.jpg"
    if not path.exists():
        out = io.BytesIO()
        _photo().save(out, "JPEG", quality=QUALITY, exif=_exif(), icc_profile=wide_gamut_profile())
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(out.getvalue())
        tmp.replace(path)
    return path


# ---------------------------------------------------------------------------------------------
# The measurements (run by bench/run.py).


def child(mode, photo, env, store=False):
    """One processing of ``photo`` in a child process (``bench/media_child.py``): its report
    (the work's own time, the process's exact peak resident memory, the variants), with the
    child's wall time and its sampled peak."""
    from bench.ingest import run_measured

    argv = [sys.executable, "-m", "bench.media_child", mode, str(photo)]
    if store:
        argv.append("--store")
    result = run_measured(argv, env=env, timeout=600)
    report = json.loads(result.pop("stdout").strip().splitlines()[-1])
    result.pop("rss_timeline", None)
    return {**report, "child_wall_s": result["wall_s"], "sampled_peak_mb": result["max_rss_mb"]}


def processing_figures(env, rounds, log):
    """``rounds`` rounds of the hub's processing and of the two Pillow references, one after
    the other in each round; the first hub round also stores the variants in the instance
    media folder of ``env`` (``HUB_INSTANCE_PATH``). Medians of the work's time and the
    largest peak of memory."""
    photo = photo_file()
    results = {mode: [] for mode in MODES}
    stored = None
    for r in range(rounds):
        log(f"media: processing the 12 MP photo, round {r + 1}/{rounds}")
        for mode in MODES:
            try:
                outcome = child(mode, photo, env, store=(mode == "hub" and r == 0))
            except Exception as exc:  # the figure says it failed; the others go on
                results[mode].append({"error": str(exc)[:2000]})
                log(f"  {mode:12} FAILED: {str(exc)[:300]}")
                continue
            if mode == "hub" and r == 0:
                stored = outcome.pop("stored")
            results[mode].append(outcome)
            log(
                f"  {mode:12} {outcome['seconds'] * 1000:7.0f} ms "
                f"(CPU {outcome['cpu_s'] * 1000:.0f} ms), peak {outcome['peak_mb']:.0f} MB"
            )
    summary = {
        "photo": {
            "bytes": photo.stat().st_size,
            "width": WIDTH,
            "height": HEIGHT,
            "orientation": ORIENTATION,
            "quality": QUALITY,
        },
        "stored": stored,
    }
    for mode, rounds_ in results.items():
        good = [o for o in rounds_ if "seconds" in o]
        summary[mode] = {
            "rounds": rounds_,
            "median_s": statistics.median(o["seconds"] for o in good) if good else None,
            "median_cpu_s": statistics.median(o["cpu_s"] for o in good) if good else None,
            "peak_mb": max(o["peak_mb"] for o in good) if good else None,
            "failed": len(rounds_) - len(good),
        }
    return summary


def served_variant(stored, fmt="webp", width=800):
    """The stored variant served in the HTTP figure: the ``width`` px ``fmt`` (what a page's
    ``srcset`` picks for most screens), else the first."""
    for variant in stored:
        if variant["format"] == fmt and variant["width"] == width:
            return variant
    return stored[0]
