"""Someone calling the API through Django's test client: anonymous, a user or an admin, with a real signed token."""
from __future__ import annotations

import json
import uuid

from tests.support.signals import BASE, VALID
from tests.support.tokens import bearer, make_token


def new_id() -> str:
    """A fresh id shaped like the product's (24 hex characters)."""
    return uuid.uuid4().hex[:24]


class Caller:
    """One caller: ``role=None`` is anonymous; otherwise every request carries an access token for ``user_id``
    with that role and display name. Extra ``headers`` are given by their HTTP names (``{"If-Match": …}``)."""

    def __init__(self, client, user_id: str | None = None, *, role: str | None = "user", name: str = "Test User"):
        self.client = client
        self.role = role
        self.user_id = user_id or new_id()
        self.name = name
        self.token = make_token(self.user_id, role=role, name=name) if role else None

    @property
    def headers(self) -> dict:
        """The caller's own headers, as Django's test client takes them."""
        return bearer(self.token) if self.token else {}

    def _headers(self, headers: dict | None) -> dict:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        return {**extra, **self.headers}

    def get(self, path: str, headers: dict | None = None, **params):
        return self.client.get(path, params or None, **self._headers(headers))

    def send(self, method: str, path: str, body=None, headers: dict | None = None, raw: str | None = None,
             **extra):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        call = getattr(self.client, method.lower())
        return call(path, data=data, content_type="application/json", **self._headers(headers), **extra)

    def upload(self, path: str, data: bytes | None, *, name: str = "chart.png", content_type: str = "image/png",
               field: str = "image", fields: dict | None = None, method: str = "POST",
               headers: dict | None = None):
        """A ``multipart/form-data`` request with one file (``data=None``: none) and any extra form fields."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        form = dict(fields or {})
        if data is not None:
            form[field] = SimpleUploadedFile(name, data, content_type=content_type)
        if method == "POST":
            return self.client.post(path, form, **self._headers(headers))
        from django.test.client import MULTIPART_CONTENT, encode_multipart

        body = encode_multipart("BoUnDaRy", form)
        return getattr(self.client, method.lower())(path, data=body, content_type=f"{MULTIPART_CONTENT[:19]}; "
                                                    "boundary=BoUnDaRy", **self._headers(headers))

    def patch(self, path: str, body, headers: dict | None = None, **extra):
        return self.send("PATCH", path, body, headers, **extra)

    def create(self, **overrides) -> dict:
        """A new trade signal of this caller's (``VALID`` with ``overrides``), checked to be created."""
        response = self.send("POST", BASE, {**VALID, **overrides})
        assert response.status_code == 201, response.content
        return response.json()
