from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"

    def ready(self) -> None:
        # Event and Django-signal receivers register themselves on import.
        from importlib import util

        if util.find_spec("apps.users.receivers"):
            __import__("apps.users.receivers")
