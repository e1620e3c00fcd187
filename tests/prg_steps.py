"""Post/Redirect/Get for refusals: a refused POST redirects back to a page, which shows
the refusal once, as an error message, on its GET."""

import html
import re


def error_messages(response) -> list[str]:
    """The error messages shown on a page (django.contrib.messages, level error)."""
    return [
        html.unescape(m)
        for m in re.findall(r'<li class="error">(.*?)</li>', response.content.decode())
    ]


def refusal_shown(client, response, *, to: str | None = None) -> str:
    """The refusal of a POST: assert it redirected (to `to`, when given) and that the
    page it redirected to shows exactly one error message; return that message."""
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}"
    if to is not None:
        assert response["Location"] == to
    page = client.get(response["Location"])
    assert page.status_code == 200
    (message,) = error_messages(page)
    return message


def succeeded(client, response) -> bool:
    """A POST that was done: a redirect to a page that shows no error message (a refusal
    redirects too, with its message)."""
    return response.status_code == 302 and not error_messages(client.get(response["Location"]))
