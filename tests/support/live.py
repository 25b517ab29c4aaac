"""Calling a live server (a ``tests.support.procs.Gunicorn``) as a client would: JSON over HTTP, accounts made
through the API, administrators through ``manage.py createadmin``."""
from __future__ import annotations

import subprocess
import sys
import uuid

import requests

from tests.support.procs import ROOT


def api(server, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{server.url}{path}", headers=headers, timeout=10, **kwargs)


def register(server, name: str, *, password: str) -> dict:
    """A new account named ``name`` (a fresh address each call): the register response plus its ``email``."""
    address = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    response = api(server, "POST", "/api/v1/auth/register",
                   json={"email": address, "password": password, "display_name": name})
    assert response.status_code == 201, response.text
    return {**response.json(), "email": address}


def make_admin(server, *, password: str) -> str:
    """A new administrator's address, made with the management command against the server's own settings."""
    address = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run([sys.executable, "manage.py", "createadmin", "--email", address, "--password-env", "TS_ADMIN_PW"],
                   cwd=ROOT, env={**server.env, "TS_ADMIN_PW": password}, check=True, capture_output=True,
                   timeout=60)
    return address
