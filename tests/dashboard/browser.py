"""What the browser test watches and does on the ZenML dashboard's pages.

The dashboard itself (ZenML 0.98's bundle) logs errors on an offline machine that have nothing
to do with our artifacts: its stylesheet's ``data:`` fonts and placeholder images are refused
by its own Content-Security-Policy, and it fetches avatars, flavor logos and project templates
from the internet. :data:`DASHBOARD_OFFLINE_NOISE` names each of them exactly; any other
console error, uncaught exception, failed request or error response fails the test.

One thing is neither ours nor the dashboard's: Chromium aborts every request in flight with
``net::ERR_NETWORK_CHANGED`` when a network interface or address changes anywhere on the host
(another process starting a container, say), 127.0.0.1 included; the dashboard's lazily loaded
page then fails to import. :meth:`PageWatch.retry_on_network_change` opens such a page again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

DASHBOARD_OFFLINE_NOISE = (
    # the dashboard's own stylesheet embeds fonts as data: URLs; its CSP (font-src 'self')
    re.compile(r"^Loading the font 'data:font/.*violates .*\"font-src 'self'\""),
    # its empty image placeholders; its CSP (img-src 'self' data: *) does not match about:
    re.compile(r"^Loading the image 'about:blank' violates .*\"img-src"),
)
# Hosts the dashboard's own pages load from (avatars, flavor logos, the home page's project
# templates); unreachable offline.
DASHBOARD_EXTERNAL_HOSTS = frozenset(
    {
        "avatar.vercel.sh",
        "public-flavor-logos.s3.eu-central-1.amazonaws.com",
        "raw.githubusercontent.com",
    }
)
# The announcements feed: requested only while the server setting display_updates is on.
ANNOUNCEMENTS_FEED = "https://raw.githubusercontent.com/zenml-io/zenml-changelog/"
NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
# Chromium's reason for a request the page itself cancelled: switching an artifact sheet's tab,
# or navigating, while a visualization is still loading. Not a failure: what the server answers
# is checked on every response (4xx/5xx), and a server that cannot be reached fails otherwise.
CANCELLED_BY_PAGE = "net::ERR_ABORTED"

T = TypeVar("T")


@dataclass
class PageWatch:
    """Console errors, uncaught exceptions, failed requests and error responses of a page.

    Attributes:
        server: The dashboard's base URL; its failed requests and 4xx/5xx answers are errors.
        errors: Everything that fails the test, as text.
        ignored: The dashboard's documented offline noise, kept for the test's log.
        requested: Every URL requested.
    """

    server: str
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        """Listen on a Playwright page (and its frames: iframes log through the page)."""
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught exception: {exc}"))
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _external_noise(self, url: str) -> bool:
        return urlparse(url).hostname in DASHBOARD_EXTERNAL_HOSTS

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text, where = message.text, message.location.get("url", "")
        line = f"console error: {text[:300]} (at {where[:120]})"
        noise = any(p.search(text) for p in DASHBOARD_OFFLINE_NOISE) or (
            text.startswith("Failed to load resource: net::ERR_NAME_NOT_RESOLVED")
            and self._external_noise(where)
        )
        (self.ignored if noise else self.errors).append(line)

    def _failed(self, request: Any) -> None:
        line = f"request failed: {request.url[:200]} ({request.failure})"
        noise = (
            self._external_noise(request.url)
            or request.url == "about:blank"
            or request.failure == CANCELLED_BY_PAGE
        )
        (self.ignored if noise else self.errors).append(line)

    def _response(self, response: Any) -> None:
        if response.url.startswith(self.server) and response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url[:200]}")

    def retry_on_network_change(self, navigate: Callable[[], T], attempts: int = 3) -> T:
        """Run ``navigate`` (open a page and wait for it) again if the host's network changed.

        An attempt during which a request failed with ``net::ERR_NETWORK_CHANGED`` is repeated;
        everything it logged is moved to :attr:`ignored`, marked as such. Any other error, and
        the last attempt's, stays.

        Args:
            navigate: Opens the page; may raise when the aborted page never finishes.
            attempts: At most this many attempts in all.

        Returns:
            What the successful attempt returned.
        """
        for attempt in range(1, attempts + 1):
            mark = len(self.errors)
            try:
                result = navigate()
            except Exception:
                if attempt == attempts or not self._network_changed(mark):
                    raise
                self._set_aside(mark, attempt)
                continue
            if attempt == attempts or not self._network_changed(mark):
                return result
            self._set_aside(mark, attempt)
        raise ValueError(f"attempts must be at least 1, not {attempts}")

    def _network_changed(self, mark: int) -> bool:
        return any(NETWORK_CHANGED in error for error in self.errors[mark:])

    def _set_aside(self, mark: int, attempt: int) -> None:
        note = f"(host network changed, attempt {attempt} repeated)"
        self.ignored += [f"{note} {error}" for error in self.errors[mark:]]
        del self.errors[mark:]

    def write_log(self, path: Path) -> None:
        """Write what was seen (errors first) next to the screenshot."""
        lines = ["errors:", *self.errors, "", "dashboard offline noise (ignored):", *self.ignored]
        path.write_text("\n".join(lines) + "\n")


def table_rows(scope: Any) -> list[list[str]]:
    """The text of every table row under ``scope`` (a page, frame or locator), cell by cell."""
    rows: list[list[str]] = scope.locator("tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    return rows


def row_starting(rows: list[list[str]], first_cell: str) -> list[str]:
    """The row whose first cell is ``first_cell``.

    Raises:
        AssertionError: When there is none (listing the first cells).
    """
    for row in rows:
        if row and row[0] == first_cell:
            return row
    raise AssertionError(f"no row {first_cell!r}; rows: {[r[0] for r in rows if r]}")
