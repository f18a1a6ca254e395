"""mask_phone: what an operator or a log reader sees of a caller's number."""

from __future__ import annotations

import pytest

from base.privacy import mask_phone


@pytest.mark.parametrize(
    "number",
    ["+79991234501", "79991234501", "89991234501", "9991234501", "+7 (999) 123-45-01", "8-999-123-45-01"],
)
def test_russian_numbers_in_any_form_keep_country_code_and_last_two_digits(number: str) -> None:
    assert mask_phone(number) == "+7 *** ***-**-01"


def test_toll_free_number_is_masked_like_any_other() -> None:
    assert mask_phone("88001000000") == "+7 *** ***-**-00"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+375291234567", "+375 *******67"),  # Belarus: code 375, 9-digit national number
        ("00375291234567", "+375 *******67"),
        ("+4915112345678", "+49 *********78"),
    ],
)
def test_foreign_numbers_keep_their_country_code(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_local_number_without_country_hides_all_but_last_two() -> None:
    assert mask_phone("2234501") == "*****01"


@pytest.mark.parametrize("extension", ["101", "8800", "1"])
def test_short_extensions_are_not_personal_data(extension: str) -> None:
    assert mask_phone(extension) == extension


@pytest.mark.parametrize("placeholder", ["", "anonymous", "Unknown", "restricted"])
def test_placeholders_without_a_number_pass_through(placeholder: str) -> None:
    assert mask_phone(placeholder) == placeholder


def test_other_text_without_digits_is_hidden() -> None:
    assert mask_phone("Ivanov Ivan") == "***"


@pytest.mark.parametrize("number", ["+79991234501", "89161234567", "+375291234567", "2234501"])
def test_no_more_than_the_last_two_digits_of_the_subscriber_number_leak(number: str) -> None:
    masked = mask_phone(number)
    digits = "".join(ch for ch in number if ch.isdigit())
    # The subscriber part (all but the last two digits after the country code) never shows.
    assert digits[-7:-2] not in "".join(ch for ch in masked if ch.isdigit())
    assert masked.endswith(digits[-2:])
