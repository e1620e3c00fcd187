"""Page weight as a phone on a weak signal pays for it: the bytes of every response a
page load brings (the page, its CSS and JavaScript, images), measured in the browser.

Bodies are counted as delivered to the page (before any compression on the wire, so
an upper bound). Requests the page makes afterwards in the background to keep pages
for offline use (`fetch`, the service worker's own script) are left out: they are not
what the page needs to show."""

BACKGROUND = {"fetch", "xhr", "eventsource", "websocket"}


def page_weight(page, url: str) -> dict[str, int]:
    """Load `url` in `page`; the bytes received by resource type, and their "total"."""
    sizes: dict[str, int] = {}

    def on_response(response):
        request = response.request
        if request.resource_type in BACKGROUND or request.url.endswith("/sw.js"):
            return
        if not 200 <= response.status < 300:
            return
        try:
            body = response.body()
        except Exception:  # a redirect has no body to count
            return
        sizes[request.resource_type] = sizes.get(request.resource_type, 0) + len(body)

    page.on("response", on_response)
    try:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("response", on_response)
    return {**sizes, "total": sum(sizes.values())}
