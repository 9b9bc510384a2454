"""The root of every error a user can hit.

Each error names what happened (the message) and what to do about it (the hint),
so the CLI and the GUI can show both without knowing the error's type.
"""


class FlasherError(Exception):
    """Base class of all TSUF errors."""

    hint = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.args[0] if self.args else type(self).__name__
