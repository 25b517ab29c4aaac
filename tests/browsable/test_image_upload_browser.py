"""A chart upload through the browsable API, as a trader's browser does it, and the chart in the console.

The upload view parses ``multipart/form-data`` only, so its page offers DRF's field-by-field form (a file input,
the CSRF token as a form field, posted by the browser itself) instead of the JSON raw form every other view
offers. First through Django's test client (what each caller is offered), then end to end in real headless
Chromium against a real gunicorn: a trader uploads a PNG through the form, attaches it to a new signal through
the JSON form, and an administrator sees the thumbnail in the review queue and the full image on the signal's
page, with no Content-Security-Policy violation anywhere.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.support import live
from tests.support.browser import watched_page
from tests.support.images import png
from tests.support.live import api
from tests.support.procs import Gunicorn
from tests.support.seaweed import ACCESS_KEY, REGION, SECRET_KEY
from tests.support.tokens import make_token

UPLOAD = "/api/v1/trade-signals/images"
AVATAR = "/api/v1/users/me/avatar"
HTML = {"HTTP_ACCEPT": "text/html"}
PASSWORD = "upload-Test-passphrase-4821"
SIGNAL = {"symbol": "BTC/USDT", "direction": "long", "entry_price": "64000", "stop_loss": "63000",
          "take_profit": "66000", "timeframe": "4h", "rationale": "Breakout above the weekly range."}


class Forms(HTMLParser):
    """Every form of a page (but the navbar's logout) with its attributes and its inputs."""

    def __init__(self, text: str):
        super().__init__()
        self.forms: list[dict] = []
        self._open = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") != "logoutForm":
            self.forms.append({**attrs, "inputs": [], "textareas": 0})
            self._open = True
        elif self._open and tag == "input":
            self.forms[-1]["inputs"].append(attrs)
        elif self._open and tag == "textarea":
            self.forms[-1]["textareas"] += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = False

    def upload_forms(self) -> list[dict]:
        return [form for form in self.forms if any(i.get("type") == "file" for i in form["inputs"])]


def bearer(user_id: str = "u1") -> dict:
    return {**HTML, "HTTP_AUTHORIZATION": f"Bearer {make_token(user_id, role='user', name='Tara')}"}


def chart_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("chart.png", png(320, 200), content_type="image/png")



def register(server, name: str) -> dict:
    return live.register(server, name, password=PASSWORD)


def make_admin(server) -> str:
    return live.make_admin(server, password=PASSWORD)

@pytest.fixture
def media(settings, tmp_path):
    from settings.storage import filesystem_media_storage

    settings.STORAGE_BACKEND, settings.MEDIA_SERVE, settings.MEDIA_ROOT = "filesystem", True, tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": filesystem_media_storage(tmp_path, settings.MEDIA_URL)}
    return tmp_path


def test_a_signed_in_caller_gets_a_file_form_and_no_raw_form():
    response = Client().get(UPLOAD, **bearer())
    assert response.status_code == 405  # GET is not an operation of the upload: the page still offers the POST
    forms = Forms(response.content.decode())
    [form] = forms.upload_forms()
    assert form["method"] == "POST" and form["enctype"] == "multipart/form-data" and form["action"] == UPLOAD
    assert [(i["name"], i["type"]) for i in form["inputs"]] == [("csrfmiddlewaretoken", "hidden"), ("image", "file")]
    assert form["inputs"][0]["value"]
    # No raw-data form: a file cannot be typed into a textarea, and no second POST button posts nothing.
    assert sum(f["textareas"] for f in forms.forms) == 0
    assert response.content.decode().count(">POST</button>") == 1
    assert " style=" not in response.content.decode().split('id="upload-form"')[1]


def test_a_put_upload_gets_a_form_the_script_sends_with_the_csrf_header():
    """The avatar is a PUT: DRF's ajax-form.js sends the form as FormData, csrf.js the token as a header, so
    the form holds the file field alone (the upload refuses any other field)."""
    response = Client().get(AVATAR, **bearer())
    text = response.content.decode()
    [form] = Forms(text).upload_forms()
    assert (form["method"], form["data-method"], form["enctype"]) == ("POST", "PUT", "multipart/form-data")
    assert form["action"] == AVATAR and [(i["name"], i["type"]) for i in form["inputs"]] == [("image", "file")]
    assert text.count(">PUT</button>") == 1 and "<textarea" not in text


def test_no_file_form_for_a_visitor_nor_on_a_json_view():
    anonymous = Client().get(UPLOAD, **HTML)
    assert anonymous.status_code == 401 and Forms(anonymous.content.decode()).upload_forms() == []
    listing = Client().get("/api/v1/trade-signals/", **bearer())
    forms = Forms(listing.content.decode())
    assert forms.upload_forms() == [] and 'enctype="multipart/form-data"' not in listing.content.decode()
    assert sum(f["textareas"] for f in forms.forms) == 1  # the JSON raw form, as before


def test_the_created_page_shows_the_stored_image_and_the_form_again(media):
    response = Client().post(UPLOAD, {"image": chart_file()}, **bearer())
    assert response.status_code == 201
    text = response.content.decode()
    assert "HTTP 201 Created" in text
    image_id = re.search(r"&quot;id&quot;: &quot;([0-9a-f]{24})&quot;", text).group(1)
    assert "&quot;width&quot;: 320" in text and "&quot;height&quot;: 200" in text
    [form] = Forms(text).upload_forms()  # a fresh form for the next upload, not the stored image's fields
    assert [i["name"] for i in form["inputs"]] == ["csrfmiddlewaretoken", "image"]
    stored = Client().get(UPLOAD, **bearer())  # nothing else about the upload leaks into the next page
    assert image_id not in stored.content.decode()


def test_a_refused_file_keeps_the_form(media):
    bad = SimpleUploadedFile("chart.png", b"not an image at all", content_type="image/png")
    response = Client().post(UPLOAD, {"image": bad}, **bearer())
    assert response.status_code == 400
    assert len(Forms(response.content.decode()).upload_forms()) == 1


def test_the_form_as_a_browser_sends_it_with_the_session_cookie(media, settings):
    """Cookie session: the CSRF token travels as the form field, exactly as the rendered form posts it."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT="text/html")
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token("u1", role="user", name="Tara")
    [form] = Forms(client.get(UPLOAD).content.decode()).upload_forms()
    token = form["inputs"][0]["value"]
    assert client.post(UPLOAD, {"image": chart_file()}).status_code == 403  # no token: refused
    response = client.post(UPLOAD, {"csrfmiddlewaretoken": token, "image": chart_file()})
    assert response.status_code == 201, response.content.decode()[-2000:]


# -- end to end in Chromium -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_server(mongo_uri, redis_server_url, seaweedfs):
    """The app storing on a bucket of the session's SeaweedFS: images load from its own plain-http origin."""
    bucket = seaweedfs.create_bucket()
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                    "STORAGE_BACKEND": "s3", "MEDIA_SERVE": "false", "S3_BUCKET": bucket,
                    "S3_ENDPOINT_URL": seaweedfs.endpoint_url, "S3_REGION": REGION, "S3_PUBLIC_URL": "",
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "AWS_EC2_METADATA_DISABLED": "true"}, name="uploads-s3").start()
    yield web
    web.stop()
    if seaweedfs.running:
        seaweedfs.delete_bucket(bucket)


@pytest.fixture(scope="module")
def server(mongo_uri, redis_server_url, tmp_path_factory):
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true",
                    "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")), "STORAGE_BACKEND": "filesystem",
                    "MEDIA_SERVE": "true"}, workers=2, name="uploads").start()
    yield web
    web.stop()








@pytest.fixture
def open_page(browser, request):
    """A fresh browser context (own cookies) per person, watched for CSP violations and script errors; on the
    server the test asks for (``server`` or ``s3_server``)."""
    contexts = []
    site = request.getfixturevalue("s3_server" if "s3_server" in request.fixturenames else "server")

    def open_():
        context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return watched_page(context)

    yield open_
    for context in contexts:
        context.close()


def login(page, address: str, next_path: str) -> None:
    page.goto(f"/auth/login/?next={next_path}")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_path}")


def assert_clean(page) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert page.problems == [], page.problems


def response_body(page) -> dict:
    """The JSON the browsable page shows: the response-info block after its header lines."""
    text = page.inner_text(".response-info pre")
    return json.loads(text[text.index("{"):])


def loaded(page, selector: str) -> dict:
    """Wait for the image to finish loading and report what the browser made of it."""
    image = page.locator(selector)
    image.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete", arg=image.element_handle(), timeout=10_000)
    return image.evaluate("(img) => ({src: img.getAttribute('src'), width: img.naturalWidth, "
                          "height: img.naturalHeight, current: img.currentSrc})")


@pytest.mark.cluster
def test_a_trader_uploads_a_chart_in_the_browser_and_an_admin_sees_it_in_the_console(server, open_page, tmp_path):
    trader = register(server, "Tara")
    chart = tmp_path / "breakout.png"
    chart.write_bytes(png(640, 400))

    page = open_page()
    login(page, trader["email"], UPLOAD)
    form = page.locator("#post-upload-form")
    assert form.get_attribute("enctype") == "multipart/form-data"
    assert page.locator("#post-generic-content-form textarea").count() == 0
    page.locator("#post-upload-form input[type=file][name=image]").set_input_files(str(chart))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.get_by_role("button", name="POST").click()
    assert posted.value.status == 201, posted.value.text()[-2000:]
    page.get_by_text("HTTP 201 Created").first.wait_for()
    uploaded = response_body(page)
    assert (uploaded["width"], uploaded["height"]) == (640, 400)
    assert_clean(page)

    # Attach it to a new signal through the JSON form of the collection.
    page.goto("/api/v1/trade-signals/")
    page.fill("#id__content", json.dumps({**SIGNAL, "image_id": uploaded["id"]}))
    with page.expect_response(lambda r: r.request.method == "POST") as created:
        page.locator("#post-generic-content-form button", has_text="POST").click()
    assert created.value.status == 201, created.value.text()
    page.get_by_text("HTTP 201 Created").first.wait_for()
    signal = response_body(page)
    assert signal["image"]["id"] == uploaded["id"]
    assert signal["image"]["thumbnail_url"] == uploaded["thumbnail_url"]
    assert_clean(page)

    # An administrator sees the thumbnail in the queue and the full image on the signal's page.
    admin = open_page()
    login(admin, make_admin(server), "/console/")
    thumbnail = loaded(admin, "table.signals tbody tr img.thumb__img")
    assert thumbnail["src"] == signal["image"]["thumbnail_url"] and thumbnail["width"] > 0
    assert admin.get_attribute("table.signals tbody tr img.thumb__img", "alt") == "Chart of BTC/USDT 4h"
    admin.get_by_role("link", name="BTC/USDT", exact=True).click()
    admin.wait_for_url(f"**/console/signals/{signal['id']}/")
    full = loaded(admin, "#chart-image img")
    assert full["src"] == signal["image"]["url"] and (full["width"], full["height"]) == (640, 400)
    assert admin.get_by_role("link", name="Open the full image").get_attribute("href") == signal["image"]["url"]
    assert_clean(admin)


@pytest.mark.cluster
def test_a_trader_replaces_the_avatar_through_the_put_form(server, open_page, tmp_path):
    trader = register(server, "Ava")
    picture = tmp_path / "me.png"
    picture.write_bytes(png(300, 200))
    page = open_page()
    login(page, trader["email"], AVATAR)
    page.locator("#put-upload-form input[type=file][name=image]").set_input_files(str(picture))
    with page.expect_response(lambda r: r.request.method == "PUT") as sent:
        page.locator("#put-upload-form").get_by_role("button", name="PUT").click()
    assert sent.value.status == 200, sent.value.text()[-2000:]
    assert sent.value.request.headers.get("x-csrftoken")  # csrf.js sent the token; the form has no token field
    page.get_by_text("HTTP 200 OK").first.wait_for()
    profile = response_body(page)
    assert profile["avatar_url"]
    me = api(server, "GET", "/api/v1/users/me", trader["access"]).json()
    assert me["avatar_url"] == profile["avatar_url"]
    assert page.locator("#put-upload-form").count() == 1  # the page written in offers the next upload
    assert_clean(page)


@pytest.mark.cluster
def test_charts_stored_on_s3_load_in_the_console_under_the_policy(s3_server, open_page):
    """The bucket's origin is another than the app's (another port, plain http): the policy names it."""
    trader = register(s3_server, "Sid")
    upload = api(s3_server, "POST", UPLOAD, trader["access"],
                 files={"image": ("chart.png", png(640, 400), "image/png")})
    assert upload.status_code == 201, upload.text
    image = upload.json()
    assert image["thumbnail_url"].startswith(f"{s3_server.env['S3_ENDPOINT_URL']}/{s3_server.env['S3_BUCKET']}/")
    created = api(s3_server, "POST", "/api/v1/trade-signals", trader["access"],
                  json={**SIGNAL, "image_id": image["id"]})
    assert created.status_code == 201, created.text
    signal = created.json()

    admin = open_page()
    login(admin, make_admin(s3_server), "/console/")
    thumbnail = loaded(admin, "table.signals tbody tr img.thumb__img")
    assert thumbnail["src"] == signal["image"]["thumbnail_url"] and thumbnail["width"] > 0
    response = admin.goto(f"/console/signals/{signal['id']}/")
    assert s3_server.env["S3_ENDPOINT_URL"] in re.search(r"img-src ([^;]*)",
                                                          response.headers["content-security-policy"]).group(1)
    full = loaded(admin, "#chart-image img")
    assert full["src"] == signal["image"]["url"] and (full["width"], full["height"]) == (640, 400)
    assert_clean(admin)
