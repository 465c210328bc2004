"""The lock files pin what requirements.txt and requirements-dev.txt ask for, with hashes."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pins(path):
    """``{name: version}`` of the ``name==version`` lines of a requirements or lock file."""
    found = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)", line):
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


@pytest.mark.parametrize(
    ("lock", "sources"),
    [
        ("requirements.lock", ["requirements.txt"]),
        ("requirements-dev.lock", ["requirements.txt", "requirements-dev.txt"]),
    ],
)
def test_the_lock_holds_every_pin(lock, sources):
    locked = pins(ROOT / lock)
    wanted = {}
    for source in sources:
        wanted |= pins(ROOT / source)
    assert {name: locked.get(name) for name in wanted} == wanted, f"run make lock ({lock})"


def test_the_dev_lock_agrees_with_the_runtime_lock():
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_has_hashes(lock):
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    packages = [entry for entry in entries if re.match(r"[A-Za-z0-9]", entry)]
    assert packages
    assert [p.split()[0] for p in packages if "--hash=sha256:" not in p] == []
