"""Helpers for the accounts tests: real registrations and logins through the HTTP API."""
from __future__ import annotations

import itertools

import pytest

PASSWORD = "violet-harbour-lantern-42"
_counter = itertools.count(1)


def unique_email(prefix: str = "trader") -> str:
    return f"{prefix}{next(_counter)}@example.com"


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


class Accounts:
    """Drives the accounts API through Django's test client, as a client application would."""

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
        from django.core.management import call_command

        email = unique_email("admin")
        import os

        os.environ["TS_TEST_ADMIN_PASSWORD"] = PASSWORD
        call_command("createadmin", "--email", email, "--password-env", "TS_TEST_ADMIN_PASSWORD", stdout=_Null())
        return self.login(email)


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass


@pytest.fixture
def accounts(api_client) -> Accounts:
    return Accounts(api_client)
