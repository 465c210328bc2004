"""Short plain texts, as every form and record of the hub takes them: trimmed, no control
characters, a length limit; the message in the current language."""

import re

from flask_babel import gettext as _

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def short_text(value, errors, field, limit=300):
    """``value`` trimmed, or None when empty; a reason put in ``errors[field]`` when it has
    control characters or more than ``limit`` characters."""
    value = (value or "").strip()
    if CONTROL.search(value):
        errors[field] = _("This text contains control characters; remove them.")
    elif len(value) > limit:
        errors[field] = _("At most %(max)s characters.", max=limit)
    return value or None
