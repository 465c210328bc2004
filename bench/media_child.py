"""One processing of a photo in a process of its own, for the media figures (bench/media.py):
prints one JSON line with the work's own time (wall clock, and the process's CPU time, which
the other processes of a shared machine disturb less), the process's resident memory before
it and its exact peak (``VmHWM``), and the variants made.

    python -m bench.media_child hub PHOTO [--store]
    python -m bench.media_child pillow PHOTO
    python -m bench.media_child pillow_full PHOTO

``hub``: ``hub.media.process.process_image``, as the job calls it, in an app context of the
full app (the job runs in the scheduler's process, which has it); ``--store`` then writes the
variants into the app's media storage under the keys the job uses (``HUB_INSTANCE_PATH`` names
the bench's instance folder).

``pillow``: Pillow alone doing the same work, written out plainly: open, the same DCT-scaled
decode, ``exif_transpose``, the ICC profile converted to sRGB, the same widths made one from the
other with the same filter, WebP (quality 80, method 4) and progressive JPEG (quality 82) of
each. The reference of the ratio.

``pillow_full`` (for information): the straightforward way, each width resized from the fully
decoded photo.

The time is the work's own (the bytes already read, as the job has them from the storage): the
interpreter's start and the imports are left out, as the job runs in a long-lived process.
"""

import io
import json
import os
import sys
import time

WIDTHS = (1600, 800, 320)
WEBP_QUALITY = 80
JPEG_QUALITY = 82


def _memory_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def pillow(data, draft):
    from PIL import Image, ImageCms, ImageOps

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    image = Image.open(io.BytesIO(data))
    if draft:
        width, height = image.size
        turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
        if turned:
            width, height = height, width
        if width > WIDTHS[0]:
            wanted = WIDTHS[0], height * WIDTHS[0] // width
            image.draft("RGB", wanted[::-1] if turned else wanted)
    image.load()
    image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        image = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    image.info = {}
    made = []
    current = image
    for target in WIDTHS:
        size = (target, round(image.height * target / image.width))
        if draft:
            current = current.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        else:
            current = image.resize(size, Image.Resampling.LANCZOS)
        for fmt, options in (
            ("WEBP", {"quality": WEBP_QUALITY, "method": 4}),
            ("JPEG", {"quality": JPEG_QUALITY, "progressive": True}),
        ):
            out = io.BytesIO()
            current.save(out, fmt, **options)
            made.append((fmt.lower(), current.width, current.height, out.getvalue()))
    return made


def main():
    mode, photo = sys.argv[1], sys.argv[2]
    store = "--store" in sys.argv[3:]
    with open(photo, "rb") as f:
        data = f.read()
    report = {"mode": mode, "photo_bytes": len(data)}
    if mode == "hub":
        from hub import create_app
        from hub.media.process import process_image

        app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": os.urandom(32).hex()})
        with app.app_context():
            report["rss_before_mb"] = _memory_mb("VmRSS")
            started, cpu = time.perf_counter(), time.process_time()
            processed = process_image(data, "image/jpeg")
            report["seconds"] = time.perf_counter() - started
            report["cpu_s"] = time.process_time() - cpu
            made = [(v.format, v.width, v.height, v.data) for v in processed.variants]
            if store:
                from hub.media.items import MIME_TYPES
                from hub.media.storage import storage, variant_key

                files = storage()
                report["stored"] = []
                for variant in processed.variants:
                    key = variant_key(variant.sha256, variant.extension)
                    files.put(key, variant.data, MIME_TYPES[variant.format])
                    report["stored"].append(
                        {
                            "key": key,
                            "format": variant.format,
                            "width": variant.width,
                            "height": variant.height,
                            "bytes": len(variant.data),
                        }
                    )
    elif mode in ("pillow", "pillow_full"):
        from PIL import Image, ImageCms, ImageOps  # noqa: F401  (imports out of the time)

        report["rss_before_mb"] = _memory_mb("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        made = pillow(data, draft=(mode == "pillow"))
        report["seconds"] = time.perf_counter() - started
        report["cpu_s"] = time.process_time() - cpu
    else:
        sys.exit(f"unknown mode {mode!r}")
    report["peak_mb"] = _memory_mb("VmHWM")  # this process's own high-water mark, exact
    report["variants"] = [
        {"format": fmt, "width": w, "height": h, "bytes": len(b)} for fmt, w, h, b in made
    ]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
