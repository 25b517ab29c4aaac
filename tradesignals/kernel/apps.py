from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "tradesignals.kernel"
    label = "kernel"
    verbose_name = "tradesignals kernel"

    def ready(self) -> None:
        from django.conf import settings

        from tradesignals.kernel import mongo
        from tradesignals.kernel.drf import schema  # noqa: F401 - registers the OpenAPI auth extensions

        # Here, not in settings: every process (each gunicorn worker, manage.py commands, the consumers) runs it
        # once at django.setup(), and a refusal stops that process before it serves. Production only: it is a
        # network call (1 s timeout), and dev/test import without one.
        if settings.SECURITY_REDIS_CHECK_AT_START:
            from tradesignals.kernel.security_store import check_redis_eviction_policy

            check_redis_eviction_policy(settings.SECURITY_REDIS_URL,
                                        allow_eviction=settings.SECURITY_REDIS_ALLOW_EVICTION)
        mongo.connect_enabled_aliases()
