"""Secret tokens stay out of logs.

Some of our URLs carry a secret in their path: a job's callback token, a source's access
token (the provider's download link), a password-reset token. Anyone reading an access log
could replay them. ``redact`` blanks them; gunicorn's access log uses ``GunicornLogger``
(the Procfile's ``--logger-class``) and Django's own log lines ("Not Found: /sources/...")
go through ``RedactSecrets``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_PATHS = re.compile(
    r"(?P<head>/(?:callbacks|sources)/|/accounts/reset/[^/\s?\"]+/)(?P<token>[^/\s?\"]+)"
)
HIDDEN = "[secret]"


def redact(text: str) -> str:
    return SECRET_PATHS.sub(lambda m: m.group("head") + HIDDEN, text)


class RedactSecrets(logging.Filter):
    """A logging filter: the record's message, with secret tokens blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


class GunicornLogger(Logger):
    """gunicorn's logger, whose access-log atoms carry no secret token (the request line,
    path, query and referer), and whose error log ("Error handling request GET /sources/…")
    goes through the same filter as Django's lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(RedactSecrets())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
