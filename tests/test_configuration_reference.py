"""docs/configuration.md names every ``HUB_*`` variable the code reads, with its default and an
example, and nothing the code does not read: a setting added without its row fails here, with a
message that says which and where to add it.

A read is a string constant that is exactly a variable's name in the Python of ``hub/``,
``connectors/``, ``wsgi.py`` and ``deploy/`` (``env.get("HUB_X")``, ``_positive_number(env,
"HUB_X", …)``: docstrings, comments and messages that mention a name are no reads), and a name
on a line of the Makefile that is not a comment. The files of ``deploy/`` that set variables
(compose.yaml, env.example, the systemd units, the Containerfile) may set only documented ones.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"HUB_[A-Z0-9_]+")
TESTING = "HUB_TEST_"
# Where the hub reads its settings (Python) and the Makefile, which passes some on.
CODE = ["hub", "connectors", "wsgi.py", "deploy"]
# deploy/'s files that set settings, read as text (their comments left out).
DEPLOY_FILES = ["compose.yaml", "env.example", "Containerfile", "Caddyfile", "nginx.conf"]
HOW_TO_ADD = (
    "add a row for each to the “Settings” table of docs/configuration.md, "
    "`| `HUB_…` | default | example | meaning |`, and read it in hub/config.py's load_settings"
)


def _python_reads(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and NAME.fullmatch(str(node.value)):
            yield node.value, node.lineno


def _text_mentions(path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.lstrip().startswith("#"):
            for name in NAME.findall(line):
                yield name, number


def _where(root, paths, reader):
    """{name: ["path:line", …]} of what ``reader`` finds in ``paths``."""
    found = {}
    for path in paths:
        for name, line in reader(path):
            found.setdefault(name, []).append(f"{path.relative_to(root)}:{line}")
    return found


def code_reads(root=ROOT):
    """Every ``HUB_*`` (testing ones apart) the code reads, with where."""
    python = []
    for part in CODE:
        path = root / part
        if path.is_dir():
            python += sorted(path.rglob("*.py"))
        elif path.exists():
            python.append(path)
    found = _where(root, python, _python_reads)
    for name, places in _where(root, [root / "Makefile"], _text_mentions).items():
        found.setdefault(name, []).extend(places)
    return {name: places for name, places in found.items() if not name.startswith(TESTING)}


def deploy_settings(root=ROOT):
    """Every ``HUB_*`` the deployment files set or pass on, with where."""
    paths = [root / "deploy" / name for name in DEPLOY_FILES]
    paths += sorted((root / "deploy" / "systemd").glob("*.service"))
    return _where(root, [path for path in paths if path.exists()], _text_mentions)


def reference_rows(text):
    """{name: cells} of every table row of the reference that names a variable first."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and (match := re.fullmatch(r"`([A-Z0-9_]+)`", cells[0])):
            rows[match.group(1)] = cells
    return rows


def _listed(found):
    places = {name: list(dict.fromkeys(found[name]))[:3] for name in found}
    return "; ".join(f"{name} ({', '.join(places[name])})" for name in sorted(found))


def test_the_reference_names_every_setting_the_code_reads():
    reads = code_reads()
    assert {"HUB_SECRET_KEY", "HUB_DATABASE_URL", "HUB_INSTANCE_PATH"} <= set(reads)
    documented = reference_rows(REFERENCE.read_text(encoding="utf-8"))
    missing = {name: places for name, places in reads.items() if name not in documented}
    assert not missing, f"docs/configuration.md does not name {_listed(missing)}: {HOW_TO_ADD}."


def test_the_reference_names_no_setting_that_nothing_reads():
    reads = code_reads()
    documented = reference_rows(REFERENCE.read_text(encoding="utf-8"))
    unread = sorted(name for name in documented if name.startswith("HUB_") and name not in reads)
    assert not unread, (
        f"docs/configuration.md has rows for {', '.join(unread)}, which no code in "
        f"{', '.join(CODE)} or the Makefile reads: remove the rows, or read the settings in "
        "hub/config.py's load_settings."
    )


def test_every_setting_has_a_default_an_example_and_a_meaning():
    text = REFERENCE.read_text(encoding="utf-8")
    assert "| variable | default | example | meaning |" in text
    rows = reference_rows(text)
    incomplete = sorted(name for name, cells in rows.items() if len(cells) != 4 or not all(cells))
    assert not incomplete, (
        f"docs/configuration.md's rows for {', '.join(incomplete)} lack a cell: each is "
        "`| `HUB_…` | default | example | meaning |` (an example of a value, in backquotes)."
    )


def test_the_deployment_files_set_only_documented_settings():
    documented = reference_rows(REFERENCE.read_text(encoding="utf-8"))
    set_there = deploy_settings()
    assert "HUB_BASE_URL" in set_there, "compose.yaml and the env files set the base URL"
    unknown = {name: places for name, places in set_there.items() if name not in documented}
    assert not unknown, (
        f"deploy/ sets {_listed(unknown)}, which docs/configuration.md does not name: "
        f"fix the name, or {HOW_TO_ADD}."
    )


def test_the_testing_section_names_every_testing_variable():
    text = REFERENCE.read_text(encoding="utf-8")
    testing = text[text.index("## Testing") :]
    tests = sorted((ROOT / "tests").rglob("*.py"))
    used = {name for name in _where(ROOT, tests, _python_reads) if name.startswith(TESTING)}
    assert used, "the suite reads where its servers are"
    named = set(NAME.findall(testing))
    assert sorted(used - named) == [], (
        "docs/configuration.md's “Testing” section does not name these variables the tests "
        "read: add them there (not to the settings tables)."
    )
    assert sorted(name for name in named if name.startswith(TESTING)) == sorted(used)


def test_a_setting_read_in_the_code_but_not_documented_is_named_with_its_place(tmp_path):
    # The check itself, on a copy: one setting more in the code, one row less in the reference.
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "config.py").write_text(
        '"""HUB_MENTIONED in a docstring is no read."""\n'
        "import os\n"
        'LEVEL = os.environ.get("HUB_LOG_LEVEL", "info")  # HUB_IN_A_COMMENT\n'
        'MESSAGE = "HUB_IN_A_MESSAGE must be a number"\n'
    )
    (tmp_path / "Makefile").write_text("# HUB_COMMENTED_OUT\nrun:\n\techo $${HUB_FROM_MAKE:-x}\n")
    assert code_reads(tmp_path) == {
        "HUB_LOG_LEVEL": ["hub/config.py:3"],
        "HUB_FROM_MAKE": ["Makefile:3"],
    }
    assert reference_rows("| `HUB_A` | `1` | `2` | three |\nHUB_B in prose\n") == {
        "HUB_A": ["`HUB_A`", "`1`", "`2`", "three"]
    }
