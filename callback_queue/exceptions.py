"""Errors of the callback domain: a status code, a stable error id, a Russian message, details.

The message is what the person in front of the form or the console reads; the error id is
for programs. The HTTP routes answer with ``to_json()``, the IVR logs them.
"""

from __future__ import annotations

from base.errors import ServiceError

__all__ = [
    "CallbackError",
    "IdempotencyConflict",
    "InvalidPhone",
    "InvalidRequest",
    "InvalidTransition",
    "InvalidWindow",
    "OrderNotFound",
    "PayloadTooLarge",
    "RateLimited",
]


class CallbackError(ServiceError):
    status_code = 400
    error_id = "callback-error"
    message = "Не удалось обработать заявку на обратный звонок."


class InvalidRequest(CallbackError):
    status_code = 422
    error_id = "invalid-request"
    message = "Проверьте заявку: форма заполнена неверно."


class InvalidPhone(CallbackError):
    status_code = 422
    error_id = "invalid-phone"
    message = (
        "Проверьте номер телефона: нужен российский номер с кодом города или оператора, "
        "например 8 912 345-67-89."
    )


class InvalidWindow(CallbackError):
    status_code = 422
    error_id = "invalid-preferred-time"
    message = "Проверьте удобное время звонка: «с» должно быть раньше, чем «до»."


class PayloadTooLarge(CallbackError):
    status_code = 413
    error_id = "request-too-large"
    message = "Заявка слишком большая: сократите комментарий и отправьте ещё раз."


class InvalidTransition(CallbackError):
    status_code = 409
    error_id = "invalid-transition"
    message = "Заявку нельзя перевести в это состояние."


class OrderNotFound(CallbackError):
    status_code = 404
    error_id = "callback-not-found"
    message = "Заявка на обратный звонок не найдена."


class IdempotencyConflict(CallbackError):
    status_code = 409
    error_id = "idempotency-key-reused"
    message = (
        "Этот ключ повторной отправки (Idempotency-Key) уже использован для другого номера. "
        "Отправьте заявку без него или с новым ключом."
    )


class RateLimited(CallbackError):
    status_code = 429
    error_id = "too-many-requests"
    message = "Слишком много заявок. Попробуйте ещё раз через {minutes} мин."

    def __init__(self, retry_after: int, scope: str) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(self.message.format(minutes=minutes),
                         {"retry_after": retry_after, "scope": scope})
        self.retry_after = retry_after
