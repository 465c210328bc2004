"""Trade enquiries: a buyer asks about a product from its page (no account needed); the
enquiry is stored first, then shown to the product's country's coordinators (and the
administrators) at /<lang>/manage/enquiries, where they mark it answered or closed. No e-mail is
sent yet (see docs/enquiries.md)."""

from flask import Blueprint

bp = Blueprint("enquiries", __name__, url_prefix="/<lang>")
manage_bp = Blueprint("enquiries_manage", __name__, url_prefix="/<lang>/manage/enquiries")

from hub.enquiries import routes  # noqa: E402,F401
