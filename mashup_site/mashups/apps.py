from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MashupsConfig(AppConfig):
    name = "mashup_site.mashups"
    label = "mashups"
    verbose_name = "Mashups"

    def ready(self) -> None:
        from . import checks, retention, tasks  # noqa: F401 (checks registers itself)

        # After every migrate (not a data migration): the retention sweeper's schedule and
        # the reconciler's.
        post_migrate.connect(
            retention.ensure_schedule, sender=self, dispatch_uid="mashups-retention"
        )
        post_migrate.connect(tasks.ensure_schedule, sender=self, dispatch_uid="mashups-reconcile")
