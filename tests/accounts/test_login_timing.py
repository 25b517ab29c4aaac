"""A failed login spends the same Argon2 work whether the email is unknown, the password wrong or the
account deactivated — no timing oracle for account discovery."""
import statistics
import time

import pytest

from tests.accounts.hashers import CountingArgon2idHasher
from tests.support.accounts import PASSWORD, unique_email
from tests.support.tokens import bearer


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingArgon2idHasher"]
    CountingArgon2idHasher.verifications = 0
    return CountingArgon2idHasher


def active_and_deactivated(accounts) -> tuple[str, str]:
    """The emails of a registered account and of one an admin has deactivated (same password)."""
    email, inactive = unique_email(), unique_email()
    accounts.register(email=email)
    target = accounts.register(email=inactive)
    admin = accounts.make_admin()
    accounts.client.patch(f"/api/v1/auth/admin/users/{target['user']['id']}", {"is_active": False},
                          format="json", **bearer(admin["access"]))
    return email, inactive


def test_the_hasher_runs_for_unknown_emails_and_deactivated_accounts(accounts, counting_hasher):
    email, inactive = active_and_deactivated(accounts)
    cases = {"unknown": unique_email("nobody"), "wrong": email, "inactive": inactive}
    for name, address in cases.items():
        before = counting_hasher.verifications
        password = PASSWORD + "x" if name == "wrong" else PASSWORD
        assert accounts.post("login", {"email": address, "password": password}).status_code == 401
        assert counting_hasher.verifications == before + 1, name


def test_failed_logins_take_similar_time(accounts, settings):
    settings.LOGIN_ACCOUNT_BURST_MAX = settings.AUTH_RATE_LIMIT_MAX = 1000
    email, inactive = active_and_deactivated(accounts)

    def timed(address: str, password: str) -> float:
        started = time.perf_counter()
        assert accounts.post("login", {"email": address, "password": password}).status_code == 401
        return time.perf_counter() - started

    samples = {"unknown": [], "wrong": [], "inactive": []}
    for _ in range(7):
        samples["unknown"].append(timed(unique_email("nobody"), PASSWORD))
        samples["wrong"].append(timed(email, PASSWORD + "x"))
        samples["inactive"].append(timed(inactive, PASSWORD))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    reference = medians["wrong"]
    assert reference > 0.010  # a real Argon2 verification happened (~22 ms at m=19 MiB, t=2)
    for value in medians.values():
        assert 0.6 * reference <= value <= 1.6 * reference, medians
