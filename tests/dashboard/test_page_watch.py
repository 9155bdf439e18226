"""The page watch's retry on a host network change hides nothing else (no browser needed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.dashboard.browser import CANCELLED_BY_PAGE, NETWORK_CHANGED, PageWatch

ABORTED = f"request failed: http://127.0.0.1:1/assets/page.js ({NETWORK_CHANGED})"
OURS = "HTTP 404: http://127.0.0.1:1/api/v1/artifact_versions/x/visualize"


def _navigation(watch: PageWatch, logged: list[list[str]], fail: bool = False) -> Callable[[], str]:
    """A navigation whose n-th attempt logs ``logged[n]`` (and raises if ``fail`` and any)."""
    attempts = iter(logged)

    def navigate() -> str:
        errors = next(attempts)
        watch.errors.extend(errors)
        if fail and errors:
            raise TimeoutError("page never finished")
        return "page"

    return navigate


def test_an_attempt_aborted_by_a_network_change_is_repeated_and_set_aside() -> None:
    watch = PageWatch(server="http://127.0.0.1:1")
    assert (
        watch.retry_on_network_change(_navigation(watch, [[ABORTED, "console: x"], []])) == "page"
    )
    assert watch.errors == []
    assert all(line.startswith("(host network changed, attempt 1") for line in watch.ignored)


def test_a_page_that_never_finished_after_a_network_change_is_opened_again() -> None:
    watch = PageWatch(server="http://127.0.0.1:1")
    navigate = _navigation(watch, [[ABORTED], []], fail=True)
    assert watch.retry_on_network_change(navigate) == "page"
    assert watch.errors == []


def test_other_errors_and_the_last_attempts_stay() -> None:
    watch = PageWatch(server="http://127.0.0.1:1")
    assert watch.retry_on_network_change(_navigation(watch, [[OURS]])) == "page"
    assert watch.errors == [OURS]

    watch = PageWatch(server="http://127.0.0.1:1")
    navigate = _navigation(watch, [[ABORTED], [ABORTED, OURS]])
    watch.retry_on_network_change(navigate, attempts=2)
    assert watch.errors == [ABORTED, OURS]

    watch = PageWatch(server="http://127.0.0.1:1")
    with pytest.raises(TimeoutError):
        watch.retry_on_network_change(_navigation(watch, [[OURS]], fail=True))
    assert watch.errors == [OURS]


class _Request:
    def __init__(self, url: str, failure: str) -> None:
        self.url, self.failure = url, failure


def test_a_request_the_page_cancelled_is_set_aside_and_a_refused_one_is_an_error() -> None:
    watch = PageWatch(server="http://127.0.0.1:1")
    visualize = "http://127.0.0.1:1/api/v1/artifact_versions/x/visualize?index=0"
    watch._failed(_Request(visualize, CANCELLED_BY_PAGE))
    assert watch.errors == [] and len(watch.ignored) == 1
    watch._failed(_Request(visualize, "net::ERR_CONNECTION_REFUSED"))
    assert watch.errors == [f"request failed: {visualize} (net::ERR_CONNECTION_REFUSED)"]
