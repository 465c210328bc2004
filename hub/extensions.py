"""Extension singletons, bound to an app by ``create_app`` through ``init_app``."""

from flask_babel import Babel

from hub.db import Database

babel = Babel()
db = Database()
