"""Log records never carry the secrets of links (e-mail confirmation, standby offers):
Django logs the path of every refused request, and access logs the request line."""

from __future__ import annotations

import logging
import re

# A path segment as long as our link tokens (secrets.token_urlsafe(32): 43 characters).
LINK_TOKEN = re.compile(r"/[A-Za-z0-9_-]{24,}(?=[/\s\"?]|$)")


class RedactLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = LINK_TOKEN.sub("/[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
