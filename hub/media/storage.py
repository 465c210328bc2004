"""Where media files live: one small interface, two implementations.

* ``LocalStorage``: a folder, ``instance/media/`` by default (``HUB_MEDIA_URL`` unset, or a
  path or ``file://`` URL); the app serves its variants itself (``hub.media.routes``).
* ``S3Storage``: an S3-compatible bucket, ``HUB_MEDIA_URL=s3://bucket/prefix``; the endpoint
  and the credentials come from the usual AWS variables (``AWS_ENDPOINT_URL``,
  ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``…), read by boto3.
  Variants are served by a redirect: to ``HUB_MEDIA_PUBLIC_URL/<key>`` when set (a CDN or a
  public bucket), else to a presigned GET URL.

Keys are content-addressed and never rewritten: a variant is ``v/<sha256>.<ext>`` (served,
cached for a year as immutable), an original ``o/<sha256>`` (private, never served).
"""

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app

VARIANT_KEY = re.compile(r"v/[0-9a-f]{64}\.(?:webp|jpg|pdf)")
ORIGINAL_KEY = re.compile(r"o/[0-9a-f]{64}")
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "pdf": "application/pdf"}
IMMUTABLE = "public, max-age=31536000, immutable"
PRESIGNED_SECONDS = 3600  # how long a presigned GET URL of a variant works


def original_key(sha256):
    return f"o/{sha256}"


def variant_key(sha256, extension):
    return f"v/{sha256}.{extension}"


def is_variant_key(key):
    """Whether ``key`` names a variant (the only keys ever served)."""
    return bool(VARIANT_KEY.fullmatch(key or ""))


def is_media_key(key):
    return is_variant_key(key) or bool(ORIGINAL_KEY.fullmatch(key or ""))


def content_type(key):
    """The Content-Type a variant is served with, from its extension."""
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


class MissingFile(KeyError):
    """The storage holds no file under this key."""


@dataclass(frozen=True)
class StoredFile:
    """A file in the storage, as ``Storage.files`` lists it."""

    key: str
    size: int
    modified_dt: datetime


class Storage:
    """The interface both storages implement. Keys are checked (``is_media_key``): nothing
    outside ``o/`` and ``v/`` can be written, read or deleted through it."""

    def put(self, key, data, content_type):
        """Store ``data`` (bytes) under ``key``; a key already there is left as it is (the
        same key always means the same bytes)."""
        raise NotImplementedError

    def get(self, key):
        """The bytes under ``key``; ``MissingFile`` when there are none."""
        raise NotImplementedError

    def delete(self, key):
        """Remove ``key``'s file; nothing happens when there is none."""
        raise NotImplementedError

    def exists(self, key):
        raise NotImplementedError

    def files(self):
        """Every media file stored (``StoredFile``s), for ``hub media check`` and the cleanup."""
        raise NotImplementedError

    def url(self, key):
        """Where a client is sent for variant ``key``: None when the app serves it itself
        (local storage), else an absolute URL (public URL or presigned)."""
        raise NotImplementedError


def _checked(key):
    if not is_media_key(key):
        raise ValueError(f"not a media key: {key!r}")
    return key


class LocalStorage(Storage):
    """Files in a folder: ``<root>/o/…`` and ``<root>/v/…``."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, key):
        return os.path.join(self.root, *_checked(key).split("/"))

    def put(self, key, data, content_type):
        path = self.path(key)
        if os.path.exists(path):
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)  # readers never see half a file

    def get(self, key):
        try:
            with open(self.path(key), "rb") as file:
                return file.read()
        except FileNotFoundError:
            raise MissingFile(key) from None

    def delete(self, key):
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path(key))

    def exists(self, key):
        return os.path.isfile(self.path(key))

    def files(self):
        for folder in ("o", "v"):
            try:
                entries = list(os.scandir(os.path.join(self.root, folder)))
            except FileNotFoundError:
                continue
            for entry in entries:
                key = f"{folder}/{entry.name}"
                if entry.is_file() and is_media_key(key):
                    stat = entry.stat()
                    yield StoredFile(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def url(self, key):
        return None


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, under ``prefix``."""

    def __init__(self, bucket, prefix="", public_url=None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_url = public_url.rstrip("/") if public_url else None
        self.client = boto3.client("s3")  # endpoint, region, credentials: AWS_* variables

    def _name(self, key):
        return self.prefix + _checked(key)

    def put(self, key, data, content_type):
        if self.exists(key):
            return
        extra = {"CacheControl": IMMUTABLE} if is_variant_key(key) else {}
        self.client.put_object(
            Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type, **extra
        )

    def get(self, key):
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey:
            raise MissingFile(key) from None
        return answer["Body"].read()

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def files(self):
        pages = self.client.get_paginator("list_objects_v2")
        for folder in ("o/", "v/"):
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + folder):
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self.prefix) :]
                    if is_media_key(key):
                        yield StoredFile(key, item["Size"], item["LastModified"].astimezone(UTC))

    def url(self, key):
        if self.public_url:
            return f"{self.public_url}/{self._name(key)}"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._name(key)},
            ExpiresIn=PRESIGNED_SECONDS,
        )


def from_url(url, instance_path, public_url=None):
    """The storage ``HUB_MEDIA_URL`` names: ``s3://bucket/prefix``, a folder (a path or a
    ``file://`` URL), or None for ``<instance>/media``."""
    if not url:
        return LocalStorage(os.path.join(instance_path, "media"))
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Storage(parts.netloc, parts.path, public_url)
    if parts.scheme == "file":
        return LocalStorage(parts.path)
    return LocalStorage(url)


def storage(app=None):
    """The app's storage, made once per app and setting (tests switch ``MEDIA_URL``)."""
    app = app or current_app
    url, public = app.config.get("MEDIA_URL"), app.config.get("MEDIA_PUBLIC_URL")
    made = app.extensions.get("hub.media.storage")
    if made is None or made[0] != (url, public):
        made = ((url, public), from_url(url, app.instance_path, public))
        app.extensions["hub.media.storage"] = made
    return made[1]
