"""Errors the console's API answers with: a status code, an error id, a message and details.

The message is Russian (an operator reads it); the error id is stable for programs.
"""

from __future__ import annotations

from base.errors import ServiceError

__all__ = ["ApiError", "DatabaseUnavailable"]


class ApiError(ServiceError):
    status_code = 500
    error_id = "internal-error"
    message = "Внутренняя ошибка консоли. Сообщите администратору."


class DatabaseUnavailable(ApiError):
    status_code = 503
    error_id = "database-unavailable"
    message = "База данных недоступна. Попробуйте обновить страницу через минуту."
