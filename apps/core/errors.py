from django.utils.translation import gettext_lazy as _


class ActionRefused(Exception):
    """A refusal to show the user as it is: the message is translated text. Raised by
    the services of every app; views turn it into a message and a 4xx status."""

    default_message = _("This action cannot be done.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class NotPermitted(ActionRefused):
    default_message = _("You are not allowed to do this for this case.")


class WrongState(ActionRefused):
    default_message = _("The case is not at a stage where this can be done.")


class Conflict(ActionRefused):
    default_message = _(
        "Someone else acted on this case at the same moment. Reload the page to see its new state."
    )


class InvalidInput(ActionRefused):
    default_message = _("Some of what was entered is not valid.")
