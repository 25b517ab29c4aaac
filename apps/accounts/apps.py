from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Event and Django-signal receivers register themselves on import.
        from importlib import util

        if util.find_spec("apps.accounts.receivers"):
            __import__("apps.accounts.receivers")
