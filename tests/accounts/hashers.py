"""The product's Argon2id hasher, counting how often it really verifies a password (tests only)."""
from apps.accounts.hashers import Argon2idHasher


class CountingArgon2idHasher(Argon2idHasher):
    verifications = 0

    def verify(self, password, encoded):
        type(self).verifications += 1
        return super().verify(password, encoded)
