"""The Python the hub is served with: threads in a worker only where they are safe (Python 3.12
and later; under 3.11 a threaded worker crashes under load, deploy/README.md "Python version"),
and the venv that make builds is such a Python wherever tools/find-python finds one."""

import subprocess
import sys
from pathlib import Path

from hub.serving import THREADS_ARE_SAFE, thread_count

ROOT = Path(__file__).resolve().parent.parent


def test_workers_run_threads_only_where_they_are_safe():
    assert thread_count(32, safe=True) == 32
    assert thread_count(32, safe=False) == 1
    assert THREADS_ARE_SAFE is (sys.version_info >= (3, 12))


def test_gunicorn_config_takes_its_threads_from_the_python_it_runs_on():
    config = {}
    path = ROOT / "deploy" / "gunicorn.conf.py"
    exec(compile(path.read_text(), str(path), "exec"), config)
    assert config["threads"] == (32 if THREADS_ARE_SAFE else 1)
    assert config["on_starting"].__name__ == "starting"


def test_make_builds_the_venv_with_a_python_whose_threads_are_safe_when_there_is_one():
    found = subprocess.run(
        [str(ROOT / "tools" / "find-python")], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0
    chosen = found.stdout.strip()
    version = subprocess.run(
        [chosen, "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    if tuple(map(int, version)) >= (3, 12):
        assert found.stderr == ""
        # The suite runs in the venv make built with it (a venv made earlier: make clean).
        assert sys.version_info[:2] == tuple(map(int, version))
    else:
        assert "no Python 3.12 or newer" in found.stderr
