from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MashupsConfig(AppConfig):
    name = "mashup_site.mashups"
    label = "mashups"
    verbose_name = "Mashups"

    def ready(self) -> None:
        from .retention import ensure_schedule

        # After every migrate (not a data migration): the retention sweeper's schedule.
        post_migrate.connect(ensure_schedule, sender=self, dispatch_uid="mashups-retention")
