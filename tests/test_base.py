"""The providers' shared vocabulary: stages, the error type, messages people understand."""

from __future__ import annotations

import pytest

from mashup_site.mashups.models import FINAL_STATUSES
from mashup_site.providers.base import MESSAGES, ProviderError, Status, user_message
from mashup_site.providers.remote import RETRYABLE

# docs/api-contract.md, "Response and error codes" and the callback failure codes.
CONTRACT_CODES = {400, 401, 402, 404, 405, 408, 409, 413, 422, 429, 430, 451, 455, 500, 501}
CONTRACT_CODES |= {505, 531}


def test_every_contract_code_has_a_message() -> None:
    assert set(MESSAGES) >= CONTRACT_CODES


def test_retryable_codes_say_so_and_permanent_ones_do_not() -> None:
    for code in (405, 429, 430, 455):
        assert "retrying" in MESSAGES[code]
    for code in CONTRACT_CODES - RETRYABLE:
        assert "retrying" not in MESSAGES[code]


def test_the_messages_from_the_issue() -> None:
    assert "matches an existing work" in MESSAGES[413]
    assert "out of credits or busy" in MESSAGES[429]


def test_no_message_mentions_the_key_or_codes() -> None:
    for message in MESSAGES.values():
        assert "Bearer" not in message and not any(ch.isdigit() for ch in message)


@pytest.mark.parametrize(
    ("code", "msg", "expected"),
    [
        (413, "raw", MESSAGES[413]),
        (None, "The provider's own words", "The provider's own words"),
        (999, "", "The provider could not make this mashup."),
    ],
)
def test_user_message_prefers_the_contracts_meaning(code, msg, expected) -> None:
    assert user_message(code, msg) == expected


def test_of_what_providers_report_only_complete_and_failed_are_final() -> None:
    reported = {Status.SUBMITTED, Status.ANALYSED, Status.FIRST, Status.COMPLETE, Status.FAILED}
    assert reported & FINAL_STATUSES == {Status.COMPLETE, Status.FAILED}


def test_a_provider_error_carries_what_the_tasks_need() -> None:
    error = ProviderError("busy", permanent=False, code=429, retry_after=3.0)
    assert (str(error), error.permanent, error.code, error.retry_after) == ("busy", False, 429, 3.0)
    assert not error.maybe_accepted
