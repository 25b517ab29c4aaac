"""Real accounts for tests: registrations, logins and administrators made through the accounts API itself."""
from __future__ import annotations

import itertools
import os

from django.core.management import call_command

from tests.support.tokens import bearer

PASSWORD = "violet-harbour-lantern-42"
_counter = itertools.count(1)


def unique_email(prefix: str = "trader") -> str:
    return f"{prefix}{next(_counter)}@example.com"


class Accounts:
    """Drives the accounts API through Django's test client, as a client application would. ``register``,
    ``login`` and ``make_admin`` return the API's own answer (the user and an access/refresh pair)."""

    def __init__(self, client):
        self.client = client

    def post(self, path: str, body: dict | None = None, token: str | None = None, **extra):
        headers = bearer(token) if token else {}
        return self.client.post(f"/api/v1/auth/{path}", body or {}, format="json", **headers, **extra)

    def get(self, path: str, token: str | None = None, **extra):
        return self.client.get(f"/api/v1/auth/{path}", **(bearer(token) if token else {}), **extra)

    def register(self, email: str | None = None, password: str = PASSWORD, **fields) -> dict:
        response = self.post("register", {"email": email or unique_email(), "password": password, **fields})
        assert response.status_code == 201, response.content
        return response.json()

    def login(self, email: str, password: str = PASSWORD, **extra) -> dict:
        response = self.post("login", {"email": email, "password": password}, **extra)
        assert response.status_code == 200, response.content
        return response.json()

    def me(self, token: str):
        return self.get("me", token)

    def make_admin(self) -> dict:
        """A real administrator, created the only way the product allows (the createadmin command)."""
        email = unique_email("admin")
        os.environ["TS_TEST_ADMIN_PASSWORD"] = PASSWORD
        call_command("createadmin", "--email", email, "--password-env", "TS_TEST_ADMIN_PASSWORD", stdout=_Null())
        return self.login(email)


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass
