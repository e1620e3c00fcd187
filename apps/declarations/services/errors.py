"""The refusals every service raises live in apps.core.errors, shared by all apps."""

from apps.core.errors import ActionRefused, Conflict, InvalidInput, NotPermitted, WrongState

__all__ = ["ActionRefused", "Conflict", "InvalidInput", "NotPermitted", "WrongState"]
