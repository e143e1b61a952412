"""The engine's one error type: its message is shown to the person as it is."""


class EngineError(Exception):
    """Input the engine cannot make a mashup from, said plainly. ``final``: the same input
    would fail the same way (a silent song, one with no beat); not so for a file that could
    not be read, which a full disk or a passing fault may explain."""

    def __init__(self, message: str, *, final: bool = True) -> None:
        super().__init__(message)
        self.final = final
