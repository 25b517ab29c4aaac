"""Argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1).

Django's default Argon2 parameters cost ~180 ms of CPU per hash on a 2-core host, which turns the login
endpoint into a denial-of-service lever; these cost ~22 ms and still meet the OWASP baseline. Hashes made
with other parameters are upgraded on the next successful login (Django's ``must_update``).
"""
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
