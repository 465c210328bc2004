"""Profiles of the benchmark's figures, to see what in ``hub/`` costs the time or the memory.

    .venv/bin/python -m bench.profile [TARGET …] [--requests N] [--records N]

Targets (all by default except the slow ``sync_memory``):

``api``, ``api_country``, ``api_304``, ``country_page``, ``products_page``, ``search_vi``,
``search_en``, ``search_ja``, ``changes``
    the request of that figure, ``--requests`` times through Flask's test client (no gunicorn,
    no network) on a copy of the cached data set, under pyinstrument.
``cold_lists``, ``cold_api_lists``, ``cold_search_vi``, ``cold_search_en``, ``cold_search_ja``
    ``--requests`` distinct requests of that cold figure (``bench.cold``: the filtered lists,
    HTML or API, or the searches), each asked once, so that none is served from the answer
    cache; the same way as above.
``sync``, ``resync``
    a first sync of ``--records`` records of the partner feed (default 5 000) into a fresh
    database, then the unchanged re-sync, in this process under pyinstrument.
``sync_memory``
    the first sync and the re-sync of ``--records`` records under tracemalloc: the peak of
    Python allocations in each phase (fetch and parse, the batches, deleting what the
    partner no longer lists, saving the run).
``media``
    the bench's 12 MP photo (bench/media.py) processed by ``hub.media.process.process_image``
    ``--photos`` times (default 3) under pyinstrument, then the time of each step of the same
    work done with Pillow alone (decode, orientation, sRGB, each resize and encoding).
``media_serve``
    ``/media/<key>`` of the photo's 800 px WebP, ``--requests`` times through Flask's test
    client (the variants stored in a temporary folder).

Run ``python -m bench`` once first: it installs the tools and builds the data set.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import quote

from bench import dataset, ingest
from bench.servers import Servers

HTTP_TARGETS = {
    "api": ("/api/v1/products?limit=50&lang=ja", None),
    "api_country": ("/api/v1/products?limit=50&lang=ja&country=TH", None),
    "api_304": ("/api/v1/products?limit=50&lang=ja", "etag"),
    "country_page": ("/ja/countries/VN", None),
    "products_page": ("/ja/products", None),
    "search_vi": ("/vi/search?q=" + quote("mật ong"), None),
    "search_en": ("/en/search?q=honey", None),
    "search_ja": ("/ja/search?q=" + quote("はちみつ"), None),
    "changes": ("/api/v1/changes?since=0&limit=1000", None),
}
COLD_TARGETS = (
    "cold_lists",
    "cold_api_lists",
    "cold_search_vi",
    "cold_search_en",
    "cold_search_ja",
)
SYNC_TARGETS = ("sync", "resync")
MEDIA_TARGETS = ("media", "media_serve")
ALL = (*HTTP_TARGETS, *COLD_TARGETS, *SYNC_TARGETS, *MEDIA_TARGETS)


def _profiler():
    from pyinstrument import Profiler

    return Profiler(interval=0.0005)


def _print(title, profiler, seconds, count):
    print(f"\n=== {title}: {count} × in {seconds:.2f}s = {seconds / count * 1000:.1f} ms each ===")
    print(
        profiler.output_text(
            unicode=True,
            color=False,
            show_all=False,
            processor_options={"filter_threshold": 0.01},
        )
    )


def _client(workdir):
    from hub import create_app

    copy = dataset.copy_sqlite(dataset.sqlite_dataset(), Path(workdir) / "profile.sqlite3")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{copy}",
            "SECRET_KEY": os.urandom(32).hex(),
            "API_RATE_LIMIT": "100000000 per minute",
        }
    )
    return app.test_client(), copy


def _cold_paths(name, db_path):
    from bench import cold

    if name.startswith("cold_search_"):
        return cold.search_paths(name.removeprefix("cold_search_"))[0]
    html, api = cold.filter_paths(db_path)
    return api if name == "cold_api_lists" else html


def profile_cold(names, requests, workdir):
    client, copy = _client(workdir)
    for name in names:
        paths = _cold_paths(name, copy)
        for path in paths[-4:]:  # warm-up, as the bench's, left out of the measurement
            client.get(path)
        paths = paths[:requests]
        profiler = _profiler()
        started, cpu = time.perf_counter(), time.process_time()
        profiler.start()
        for path in paths:
            client.get(path)
        profiler.stop()
        cpu = time.process_time() - cpu
        _print(name, profiler, time.perf_counter() - started, len(paths))
        print(f"CPU {cpu / len(paths) * 1000:.1f} ms each")


def profile_http(names, requests, workdir):
    client, _ = _client(workdir)
    for name in names:
        path, headers = HTTP_TARGETS[name]
        if headers == "etag":
            headers = {"If-None-Match": client.get(path).headers["ETag"]}
        first = client.get(path, headers=headers)
        print(f"\n{name}: GET {path} → {first.status_code}, {len(first.data)} bytes")
        profiler = _profiler()
        started = time.perf_counter()
        profiler.start()
        for _ in range(requests):
            client.get(path, headers=headers)
        profiler.stop()
        _print(name, profiler, time.perf_counter() - started, requests)


def _small_feed(records, workdir):
    source = ingest.feed_file(100_000 if records > 10_000 else 10_000)
    path = Path(workdir) / f"feed-{records}.csv"
    with source.open(encoding="utf-8") as f, path.open("w", encoding="utf-8") as out:
        for index, line in enumerate(f):
            if index > records:
                break
            out.write(line)
    return path


def _sync_app(workdir, records):
    """A fresh database with one CSV source of ``records`` records served on loopback."""
    from hub import create_app
    from hub.extensions import db
    from hub.sync.models import PartnerSource

    feed = _small_feed(records, workdir)
    servers = Servers(workdir)
    base = servers.feed(str(feed.parent))
    target = ingest.SyncTarget(workdir, base)
    url, ids = target.fresh("profile")
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": os.urandom(32).hex(), "FETCH_ALLOW": ["127.0.0.0/8"]}
    )
    with app.app_context():
        source = db.session.get(PartnerSource, ids[10_000])
        source.url = f"{base}/{feed.name}"
        db.session.commit()
        source_id = source.id
    return app, source_id, servers


def profile_sync(names, records, workdir):
    from hub.sync.scheduler import run_if_free

    app, source_id, servers = _sync_app(workdir, records)
    try:
        for label in ("sync", "resync"):
            with app.app_context():
                profiler = _profiler() if label in names else None
                started = time.perf_counter()
                if profiler:
                    profiler.start()
                run = run_if_free(source_id, "cli:profile", paused_too=True)
                if profiler:
                    profiler.stop()
                seconds = time.perf_counter() - started
                print(
                    f"\n{label}: {run.status}, fetched {run.fetched}, created {run.created}, "
                    f"unchanged {run.unchanged}, {seconds:.2f}s = {records / seconds:.0f} rec/s"
                )
                if profiler:
                    _print(f"{label} of {records} records", profiler, seconds, 1)
    finally:
        servers.close()


def profile_sync_memory(records, workdir):
    """Peak Python allocations by phase of the pipeline (tracemalloc)."""
    from hub.sync import batches, snapshots
    from hub.sync.scheduler import run_if_free

    phases = {}

    def watch(name, function):
        def wrapper(*args, **kwargs):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                return function(*args, **kwargs)
            finally:
                current, peak = tracemalloc.get_traced_memory()
                entry = phases.setdefault(name, {"calls": 0, "peak_above_start_mb": 0.0})
                entry["calls"] += 1
                entry["peak_above_start_mb"] = max(
                    entry["peak_above_start_mb"], (peak - before) / 2**20
                )
                entry["left_after_mb"] = (current - before) / 2**20

        return wrapper

    originals = {"ingest": batches.ingest, "settle_missing": snapshots.settle_missing}
    app, source_id, servers = _sync_app(workdir, records)
    try:
        batches.ingest = watch("ingest (one batch of 500)", originals["ingest"])
        snapshots.settle_missing = watch("settle_missing", originals["settle_missing"])
        for label in ("first sync", "re-sync"):
            phases.clear()
            with app.app_context():
                tracemalloc.start(5)
                started = time.perf_counter()
                run = run_if_free(source_id, "cli:profile", paused_too=True)
                seconds = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
            print(
                f"\n{label} of {records} records ({run.status}, {seconds:.1f}s under tracemalloc)"
            )
            print(f"  peak of traced Python allocations in the whole run: {peak / 2**20:.1f} MB")
            for name, entry in phases.items():
                print(
                    f"  {name}: {entry['calls']} calls, peak {entry['peak_above_start_mb']:.1f} MB"
                    f" above its start, {entry['left_after_mb']:.1f} MB left after the last"
                )
    finally:
        batches.ingest = originals["ingest"]
        snapshots.settle_missing = originals["settle_missing"]
        servers.close()


def _media_app(workdir, database=None):
    from hub import create_app

    return create_app(
        {
            "DATABASE_URL": database or "sqlite://",
            "SECRET_KEY": os.urandom(32).hex(),
            "MEDIA_URL": str(Path(workdir) / "media"),
        }
    )


def _steps(data):
    """The time of each step of the processing, done with Pillow alone (as bench.media_child
    does it), in ms."""
    import io

    from PIL import Image, ImageCms, ImageOps

    from bench.media_child import JPEG_QUALITY, WEBP_QUALITY, WIDTHS

    steps = {}

    def step(name, function):
        started = time.perf_counter()
        result = function()
        steps[name] = steps.get(name, 0) + (time.perf_counter() - started) * 1000
        return result

    image = step("open", lambda: Image.open(io.BytesIO(data)))
    step("decode (JPEG)", image.load)
    image = step("orientation (exif_transpose)", lambda: ImageOps.exif_transpose(image))
    source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    image = step(
        "to sRGB (ImageCms, full size)",
        lambda: ImageCms.profileToProfile(image, source, srgb, outputMode="RGB"),
    )
    image.info = {}
    current = image
    for width in WIDTHS:
        size = (width, round(image.height * width / image.width))
        current = step(
            f"resize to {width}",
            lambda c=current, s=size: c.resize(s, Image.Resampling.LANCZOS, reducing_gap=3.0),
        )
        for fmt, options in (
            ("WEBP", {"quality": WEBP_QUALITY, "method": 4}),
            ("JPEG", {"quality": JPEG_QUALITY, "progressive": True}),
        ):
            step(f"{fmt} {width}", lambda c=current, f=fmt, o=options: c.save(io.BytesIO(), f, **o))
    return steps


def profile_media(photos, workdir):
    from bench import media
    from hub.media.process import process_image

    data = media.photo_file().read_bytes()
    app = _media_app(workdir)
    with app.app_context():
        process_image(data, "image/jpeg")  # the plugins loaded, as in a long-lived process
        profiler = _profiler()
        started = time.perf_counter()
        profiler.start()
        for _ in range(photos):
            process_image(data, "image/jpeg")
        profiler.stop()
        _print(
            "media: process_image of the 12 MP photo",
            profiler,
            time.perf_counter() - started,
            photos,
        )
    steps = _steps(data)
    total = sum(steps.values())
    print("\nThe same work with Pillow alone, step by step:")
    for name, ms in steps.items():
        print(f"  {name:32} {ms:7.0f} ms  {ms / total:5.1%}")
    print(f"  {'total':32} {total:7.0f} ms")


def profile_media_serve(requests, workdir):
    from bench import media
    from hub.media.items import MIME_TYPES
    from hub.media.process import process_image
    from hub.media.storage import storage, variant_key

    copy = dataset.copy_sqlite(dataset.sqlite_dataset(), Path(workdir) / "profile.sqlite3")
    app = _media_app(workdir, f"sqlite:///{copy}")
    with app.app_context():
        stored = []
        for variant in process_image(media.photo_file().read_bytes(), "image/jpeg").variants:
            key = variant_key(variant.sha256, variant.extension)
            storage().put(key, variant.data, MIME_TYPES[variant.format])
            stored.append({"key": key, "format": variant.format, "width": variant.width,
                           "bytes": len(variant.data)})  # fmt: skip
    path = "/media/" + media.served_variant(stored)["key"]
    client = app.test_client()
    first = client.get(path)
    print(f"\nmedia_serve: GET {path} → {first.status_code}, {len(first.data)} bytes")
    profiler = _profiler()
    started = time.perf_counter()
    profiler.start()
    for _ in range(requests):
        client.get(path).close()
    profiler.stop()
    _print("media_serve", profiler, time.perf_counter() - started, requests)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("targets", nargs="*", default=list(ALL), help=", ".join(ALL))
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--photos", type=int, default=3)
    args = parser.parse_args(argv)
    unknown = set(args.targets) - set(ALL) - {"sync_memory"}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    workdir = tempfile.mkdtemp(prefix="hub-profile-")
    try:
        http = [t for t in args.targets if t in HTTP_TARGETS]
        if http:
            profile_http(http, args.requests, workdir)
        cold = [t for t in args.targets if t in COLD_TARGETS]
        if cold:
            profile_cold(cold, args.requests, workdir)
        sync = [t for t in args.targets if t in SYNC_TARGETS]
        if sync:
            profile_sync(sync, args.records, workdir)
        if "sync_memory" in args.targets:
            profile_sync_memory(args.records, workdir)
        if "media" in args.targets:
            profile_media(args.photos, workdir)
        if "media_serve" in args.targets:
            profile_media_serve(args.requests, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
