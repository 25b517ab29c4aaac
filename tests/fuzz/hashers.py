"""Argon2id at a test-only cost (fuzz runs log in once per case)."""
from apps.accounts.hashers import Argon2idHasher


class CheapArgon2idHasher(Argon2idHasher):
    time_cost = 1
    memory_cost = 1024  # KiB
