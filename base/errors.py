"""The base of every error a person sees from an API: a status code, a stable error id for
programs, a Russian message for the person, and details."""

from __future__ import annotations

from typing import Any

__all__ = ["ServiceError"]


class ServiceError(Exception):
    status_code = 500
    error_id = "internal-error"
    message = "Внутренняя ошибка. Сообщите администратору."

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}
