"""The fuzz server's settings: the test settings with a cheap Argon2id cost.

Every fuzz case logs in for a fresh token, so the password hash is on every case's path; the production cost
(apps.accounts.hashers) is a separate concern, proven by the accounts tests.
"""
from settings.test import *  # noqa: F401,F403

PASSWORD_HASHERS = ["tests.fuzz.hashers.CheapArgon2idHasher"]
