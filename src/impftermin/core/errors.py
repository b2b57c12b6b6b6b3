"""One application error type: a machine-readable code and a translated message.

Services raise ServiceError for bad input or a state that forbids the use case; views and
APIs map it to one response shape. A lost race for a seat is not an error (R11): booking
services return the next free options instead.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ServiceError(Exception):
    def __init__(
        self, code: str, message: str | Promise, *, field: str | None = None, **params: Any
    ):
        self.code = code
        self.field = field
        self.params = params
        self._message = message
        super().__init__(code)

    @property
    def message(self) -> str:
        # `%` on the lazy message lets an ngettext_lazy message pick its plural form.
        return str(self._message % self.params) if self.params else str(self._message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}
