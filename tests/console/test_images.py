"""Uploaded charts in the console: the queue shows each signal's thumbnail, a signal's page its full image with
a link to it, under a policy that lets the browser load them from wherever they are stored (the app's own
``/media/`` or the S3 bucket's address); signals without an upload look as they always did."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests

from apps.signals import services
from tests.console.test_pages import browser
from tests.console.test_selectors import create
from tests.support.images import png

SRC = re.compile(r'<img src="([^"]*)"')


def upload(owner: str = "u1", *, width: int = 640, height: int = 400) -> str:
    return str(services.chart_image_upload(owner_id=owner, data=png(width, height)).id)


def with_chart(symbol: str = "BTC/USDT", owner: str = "u1", **size):
    signal = create(symbol=symbol, owner=owner)
    return services.signal_update(signal_id=str(signal.id), actor=owner_of(owner),
                                  data={"image_id": upload(owner, **size)})


def sol(**extra):
    return services.signal_create(owner_id="u1", owner_name="U1", symbol="SOL/USDT", direction="long",
                                  entry_price=Decimal("100"), stop_loss=Decimal("90"), take_profit=Decimal("120"),
                                  timeframe="1h", rationale="Range breakout.", **extra)


def owner_of(user_id: str):
    from tests.console.test_selectors import principal

    return principal(user_id, role="user")


def img_src_policy(response) -> list[str]:
    return re.search(r"img-src ([^;]*)", response["Content-Security-Policy"]).group(1).split()


def fetch(url: str):
    """The image as a browser gets it: from the app (``/media/``) or from the bucket's own address."""
    if url.startswith("/"):
        from django.test import Client

        response = Client().get(url)
        return response.status_code, response["Content-Type"]
    response = requests.get(url, timeout=10)
    return response.status_code, response.headers["Content-Type"]


def test_the_queue_shows_thumbnails_and_the_signal_page_the_full_image(storage_backend):
    charted = with_chart(width=640, height=400)
    plain = create(symbol="ETH/USDT")
    admin = browser("admin")

    queue = admin.get("/console/")
    body = queue.content.decode()
    thumbnail = charted.image.thumbnail_url
    assert (f'<img src="{thumbnail}" width="96" height="60" alt="Chart of BTC/USDT 1h" loading="lazy" '
            f'decoding="async" class="thumb__img">') in body
    assert SRC.findall(body) == [thumbnail]  # one thumbnail: the signal without an upload has none
    assert '<th scope="col">Chart</th>' in body and 'title="No chart uploaded">—</span>' in body
    assert f"/console/signals/{plain.id}/" in body
    assert fetch(thumbnail) == (200, "image/webp")

    page = admin.get(f"/console/signals/{charted.id}/")
    body = page.content.decode()
    full = charted.image.url
    assert (f'<img src="{full}" width="640" height="400" alt="Chart uploaded by the owner for BTC/USDT">'
            in body)
    assert f'<a href="{full}">Open the full image</a>' in body and "640 × 400 px" in body
    assert fetch(full) == (200, "image/png")

    # The browser may load them: same origin on the file system, the bucket's origin by name on S3.
    for response in (queue, page):
        sources = img_src_policy(response)
        if storage_backend.kind == "s3":
            parts = urlsplit(full)
            assert f"{parts.scheme}://{parts.netloc}" in sources
            assert parts.scheme == "http" and "http:" not in sources  # a plain-http bucket, allowed by name only
        else:
            assert sources == ["'self'", "https:", "data:"]


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_image_addresses_are_escaped_in_the_markup(storage_backend, settings):
    charted = with_chart()
    settings.MEDIA_URL = '/m"e<d>i&a/'  # whatever the address holds, it stays one attribute value
    admin = browser("admin")
    queue = admin.get("/console/").content.decode()
    page = admin.get(f"/console/signals/{charted.id}/").content.decode()
    escaped = "/m&quot;e&lt;d&gt;i&amp;a/"
    assert f'<img src="{escaped}{charted.image.thumbnail_key}"' in queue
    assert f'<img src="{escaped}{charted.image.key}"' in page and f'<a href="{escaped}{charted.image.key}">' in page
    assert '/m"e' not in queue and '/m"e' not in page and "<d>" not in queue + page


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_an_absolute_media_address_is_allowed_by_its_origin(storage_backend, settings):
    settings.MEDIA_URL = "http://media.example.test:8080/media/"
    with_chart()
    response = browser("admin").get("/console/")
    assert "http://media.example.test:8080" in img_src_policy(response)
    assert "http:" not in img_src_policy(response)


def test_signals_without_an_upload_render_as_before():
    linked = sol(image_url="https://charts.example.com/a?x=1&y=2")
    bare = create(symbol="ADA/USDT")
    admin = browser("admin")
    queue = admin.get("/console/").content.decode()
    assert "<img" not in queue and "loading=\"lazy\"" not in queue

    page = admin.get(f"/console/signals/{linked.id}/").content.decode()
    assert ('<img src="https://charts.example.com/a?x=1&amp;y=2" alt="Chart attached by the owner for SOL/USDT" '
            'loading="lazy" referrerpolicy="no-referrer">') in page
    assert 'id="chart-image"' not in page and "Open the image" in page
    page = admin.get(f"/console/signals/{bare.id}/").content.decode()
    assert "<img" not in page and "<figure" not in page

    # The other lists have no chart column.
    for path in ("/console/signals/", "/console/reviewed/?who=anyone"):
        assert '<th scope="col">Chart</th>' not in admin.get(path).content.decode(), path


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_an_upload_takes_the_place_of_the_external_link(storage_backend):
    signal = sol(image_url="https://charts.example.com/a.png", image_id=upload())
    page = browser("admin").get(f"/console/signals/{signal.id}/").content.decode()
    assert SRC.findall(page) == [signal.image.url]
    assert "charts.example.com" not in page
