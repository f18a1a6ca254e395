"""Errors the console's API answers with: a status code, an error id, a message and details.

The message is Russian (an operator reads it); the error id is stable for programs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "DatabaseUnavailable"]


class ApiError(Exception):
    status_code = 500
    error_id = "internal-error"
    message = "Внутренняя ошибка консоли. Сообщите администратору."

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}


class DatabaseUnavailable(ApiError):
    status_code = 503
    error_id = "database-unavailable"
    message = "База данных недоступна. Попробуйте обновить страницу через минуту."
