"""Extension singletons, bound to an app by ``create_app`` through ``init_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager

from hub.csrf import CSRFProtect
from hub.db import Database

babel = Babel()
db = Database()
csrf = CSRFProtect()
login_manager = LoginManager()
# Storage comes from RATELIMIT_STORAGE_URI (HUB_RATELIMIT_STORAGE_URL): memory by default,
# Redis when several processes must share the counters.
limiter = Limiter(key_func=get_remote_address)
