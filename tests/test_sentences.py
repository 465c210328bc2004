"""No sentence is built by gluing translated pieces together: the code and the templates never
join translated strings with a hard-coded separator (``", ".join``, ``| join(", ")``) nor add
them to other text (``+``, ``~``, an f-string). A list is Babel's ``format_list`` in the
reader's language; a sentence is one msgid with named placeholders.

The check reads the syntax trees: a join or a concatenation is flagged when one of its parts is
itself a call to a gettext function (or to a helper that returns one translated label).
"""

import ast
from pathlib import Path

from jinja2 import nodes

from hub import create_app
from tests.support import sample_entries

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
LANGS = ("vi", "en", "ja")
TRANSLATING = {
    "_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext",
    "lazy_pgettext", "npgettext", "status_label",
}  # fmt: skip


def _called_name(call):
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _translates(node):
    return any(
        isinstance(sub, ast.Call) and _called_name(sub) in TRANSLATING for sub in ast.walk(node)
    )


def _python_gluing(tree):
    for node in ast.walk(tree):
        if (
            (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "join"
                and isinstance(node.func.value, ast.Constant)
                and isinstance(node.func.value.value, str)
                and node.func.value.value.strip(" ")  # a separator a reader sees, not "" or " "
                and any(_translates(arg) for arg in node.args)
            )
            or (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Add)
                and any(
                    isinstance(side, ast.Call) and _called_name(side) in TRANSLATING
                    for side in (node.left, node.right)
                )
            )
            or (
                isinstance(node, ast.JoinedStr)
                and any(
                    isinstance(part, ast.FormattedValue) and _translates(part.value)
                    for part in node.values
                )
            )
        ):
            yield node.lineno


def _template_translates(node):
    calls = (
        [node, *node.find_all(nodes.Call)]
        if isinstance(node, nodes.Call)
        else node.find_all(nodes.Call)
    )
    return any(
        isinstance(call.node, nodes.Name) and call.node.name in TRANSLATING for call in calls
    )


def _template_gluing(tree):
    for node in tree.find_all(nodes.Filter):
        separator = (
            node.args[0].value if node.args and isinstance(node.args[0], nodes.Const) else ""
        )
        if node.name == "join" and str(separator).strip(" ") and _template_translates(node.node):
            yield node.lineno
    for node in tree.find_all(nodes.Concat):
        if any(isinstance(part, nodes.Call) and _template_translates(part) for part in node.nodes):
            yield node.lineno


def python_gluing(source):
    return list(_python_gluing(ast.parse(source)))


def template_gluing(environment, source):
    return list(_template_gluing(environment.parse(source)))


def test_no_translated_string_is_glued_to_another():
    environment = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).jinja_env
    found = []
    for path in sorted(HUB.rglob("*.py")):
        found += [f"{path.relative_to(ROOT)}:{n}" for n in python_gluing(path.read_text("utf-8"))]
    for path in sorted((HUB / "templates").rglob("*.html")):
        source = path.read_text("utf-8")
        found += [f"{path.relative_to(ROOT)}:{n}" for n in template_gluing(environment, source)]
    assert not found, "translated strings glued together (use format_list or one msgid):\n" + (
        "\n".join(found)
    )


def test_the_check_tells_gluing_from_formatting():
    assert python_gluing('x = ", ".join(_(s) for s in names)')
    assert python_gluing('x = " · ".join([status_label(a), status_label(b)])')
    assert python_gluing('x = _("Status") + ": " + value')
    assert python_gluing("x = f\"{_('Status')}: {value}\"")
    assert not python_gluing('x = ", ".join(codes)')
    assert not python_gluing('x = " ".join(words)')
    assert not python_gluing('x = _("%(a)s: %(b)s", a=a, b=b)')
    assert not python_gluing('x = format_list([_("a"), _("b")], locale=locale)')
    environment = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).jinja_env
    assert template_gluing(environment, '{{ [_("a"), _("b")] | join(", ") }}')
    assert template_gluing(environment, '{{ _("Status") ~ ": " ~ value }}')
    assert not template_gluing(environment, "{{ errors | join(' ') }}")
    assert not template_gluing(environment, "{{ names | join('; ') }}")
    assert not template_gluing(environment, '{{ _("%(n)s items", n=n) }}')


def test_a_list_of_labels_reads_as_a_list_in_each_language(app, client):
    with app.app_context():
        fair = sample_entries()["fair"].id
    pages = {lang: client.get(f"/{lang}/fairs/{fair}").get_data(as_text=True) for lang in LANGS}
    assert "<dd>Food and Beverages</dd>" in pages["en"]
    assert "<dd>食品、飲料</dd>" in pages["ja"]
    assert "<dd>Thực phẩm và Đồ uống</dd>" in pages["vi"]


def test_a_list_escapes_its_text_and_keeps_its_links(app):
    from markupsafe import Markup

    from hub.i18n import locale_list

    with app.test_request_context("/ja/"):
        app.preprocess_request()
        link = Markup('<a href="https://a.example/">A</a>')
        assert locale_list([link, "<b>"]) == '<a href="https://a.example/">A</a>、&lt;b&gt;'
