from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "apps.discussions"
    label = "discussions"

    def ready(self) -> None:
        # Event and Django-signal receivers register themselves on import.
        __import__("apps.discussions.receivers")
