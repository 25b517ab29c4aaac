"""``manage.py createadmin --email X [--password-env NAME]``: create or promote an administrator.

This command and ``PATCH /api/v1/auth/admin/users/{id}`` (by an admin) are the only ways to become admin.
"""
from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from apps.accounts import selectors, services
from tradesignals.kernel.errors import ApplicationError


class Command(BaseCommand):
    help = "Create the first administrator, or promote an existing account to administrator."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-env", metavar="NAME",
                            help="read the new account's password from this environment variable "
                                 "(otherwise it is asked at a prompt)")

    def handle(self, *args, email: str, password_env: str | None = None, **options):
        password = None
        existing = selectors.user_get_by_email(email=services.normalize_email(email))
        if existing is None:
            password = self._password(password_env)
        try:
            user, created = services.user_create_admin(email=email, password=password)
        except ApplicationError as error:
            details = f" {error.details}" if error.details else ""
            raise CommandError(f"{error.message}{details}") from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created administrator {user.email} (id {user.id})."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{user.email} (id {user.id}) is an administrator."))
            if not user.is_active:
                self.stderr.write(f"Note: {user.email} is deactivated; reactivate it to log in.")

    def _password(self, password_env: str | None) -> str:
        if password_env:
            value = os.environ.get(password_env)
            if not value:
                raise CommandError(f"Environment variable {password_env} is not set or empty.")
            return value
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first
