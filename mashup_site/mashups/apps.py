from django.apps import AppConfig


class MashupsConfig(AppConfig):
    name = "mashup_site.mashups"
    label = "mashups"
    verbose_name = "Mashups"
