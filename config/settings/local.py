"""The embedded default for `make run`: debug pages, demo logins."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
DEMO_MODE = env.bool("DEMO_MODE", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
