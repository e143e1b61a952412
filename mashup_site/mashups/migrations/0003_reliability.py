import django.utils.timezone
from django.db import migrations, models


def queued_when_created(apps, schema_editor):
    Mashup = apps.get_model("mashups", "Mashup")
    Mashup.objects.update(queued_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("mashups", "0002_callbackstamp"),
    ]

    operations = [
        migrations.AddField(
            model_name="mashup",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="mashup",
            name="enqueued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="mashup",
            name="queued_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(queued_when_created, migrations.RunPython.noop),
    ]
