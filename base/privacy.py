"""Personal data shown or logged in part only (152-FZ): phone numbers masked to their ends.

A masked number keeps the country code and the last two digits, enough for an operator or a
log reader to tell two calls apart, not enough to call the person:
``+79991234501`` -> ``+7 *** ***-**-01``. Pure functions, no I/O: use them in the console, in
the API and in log messages alike.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["mask_phone"]

# What Asterisk puts in CALLERID(num) when there is no number to show: not personal data.
_NO_NUMBER = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable"})
# Internal extensions (operators' phones, "8800" on the test trunk) are not personal data.
_EXTENSION_MAX_DIGITS = 4
_KEEP = 2  # trailing digits left visible
_STAR = "*"


def mask_phone(number: str) -> str:
    """``number`` with every digit hidden except the country code and the last two digits.

    Russian numbers, in any of the forms they arrive in (``+7…``, ``7…``, ``8…``, or the ten
    digits alone), come out as ``+7 *** ***-**-NN``; other international numbers as
    ``+<code> ****…NN``; numbers without a country as ``****…NN``. Short extensions (up to
    four digits) and Asterisk's "anonymous"-like placeholders are returned as they are;
    anything else without digits becomes ``***``.
    """
    text = (number or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        if not text or text.lower() in _NO_NUMBER:
            return text
        return _STAR * 3
    if len(digits) <= _EXTENSION_MAX_DIGITS:
        return digits
    tail = digits[-_KEEP:]
    international = text.startswith("+") or digits.startswith("00")
    if international and digits.startswith("00"):
        digits = digits[2:]

    if _is_russian(digits, international):
        return f"+7 *** ***-**-{tail}"
    if international:
        code = _country_code(digits)
        if code is not None:
            return f"+{code} {_hide(digits[len(str(code)):])}"
        return "+" + _hide(digits)
    return _hide(digits)


def _is_russian(digits: str, international: bool) -> bool:
    """Whether ``digits`` is a full Russian number (+7 and a ten-digit national number)."""
    if international:
        return len(digits) == 11 and digits[0] == "7"
    if len(digits) == 11:
        return digits[0] in "78"  # 8 is the domestic trunk prefix
    return len(digits) == 10 and digits[0] in "3489"  # the national number alone


def _country_code(digits: str) -> int | None:
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed.country_code or None


def _hide(digits: str) -> str:
    if len(digits) <= _KEEP:
        return _STAR * len(digits)
    return _STAR * (len(digits) - _KEEP) + digits[-_KEEP:]
