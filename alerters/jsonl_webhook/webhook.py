"""POST one JSON document to a webhook, with a timeout, reporting failure instead of raising."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn the POST into a bodiless GET and call it a success."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def describe_url(url: str) -> str:
    """The scheme and host of a URL, for messages: webhook paths and queries carry tokens.

    Args:
        url: The webhook URL.

    Returns:
        ``scheme://host[:port]``, never the path or query.
    """
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


def post_json(url: str, body: bytes, timeout_s: float) -> str | None:
    """POST a JSON body.

    Args:
        url: An http(s) URL.
        body: The encoded JSON document.
        timeout_s: The socket timeout, per connect and per read.

    Returns:
        None on a 2xx answer, else why the delivery failed (without the URL's secret parts).
    """
    try:
        scheme = urlsplit(url).scheme
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if scheme not in ALLOWED_SCHEMES:
        return f"unsupported URL scheme '{scheme}' (only http and https)"
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{describe_url(url)} answered HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return f"{describe_url(url)} unreachable: {exc.reason}"
    except OSError as exc:
        return f"{describe_url(url)} unreachable: {exc}"
    except (http.client.HTTPException, ValueError) as exc:
        # Their messages can quote the whole URL, token included.
        return f"{describe_url(url)} failed: {type(exc).__name__}"
    if not 200 <= status < 300:
        return f"{describe_url(url)} answered HTTP {status}"
    return None
