"""The engine's one error type: its message is shown to the person as it is."""


class EngineError(Exception):
    """Input the engine cannot make a mashup from, said plainly."""
