"""Many clients logging in to one account at the same moment all succeed (no transaction conflict → 500)."""
from concurrent.futures import ThreadPoolExecutor

from rest_framework.test import APIClient

PASSWORD = "concurrent login passphrase 5"


def test_parallel_logins_of_one_account_all_succeed():
    assert APIClient().post("/api/v1/auth/register", {"email": "many@example.com", "password": PASSWORD},
                            format="json").status_code == 201

    def login(_):
        response = APIClient().post("/api/v1/auth/login", {"email": "many@example.com", "password": PASSWORD},
                                    format="json")
        return response.status_code, response.json().get("refresh")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(login, range(12)))
    assert [status for status, _ in results] == [200] * 12
    assert len({refresh for _, refresh in results}) == 12  # twelve distinct sessions
    sessions = APIClient()
    sessions.credentials(HTTP_AUTHORIZATION="Bearer " + APIClient().post(
        "/api/v1/auth/login", {"email": "many@example.com", "password": PASSWORD}, format="json").json()["access"])
    listed = sessions.get("/api/v1/auth/sessions?limit=100").json()["results"]
    assert len(listed) == 14  # register + 12 + this one
