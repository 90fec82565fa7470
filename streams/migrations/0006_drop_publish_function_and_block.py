"""The go-live rules live in Python alone (streams.services): the database function that repeated them
goes, and with it the table that mirrored the wrong-key count for it (the count stays in the cache)."""

import importlib

from django.db import migrations

DROP = "DROP FUNCTION IF EXISTS streams_publish(text, text, text, bigint);"


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


def _recreate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        created = importlib.import_module("streams.migrations.0005_stream_publish_function").CREATE
        schema_editor.execute(created, params=None)


class Migration(migrations.Migration):
    dependencies = [("streams", "0005_stream_publish_function")]

    operations = [
        migrations.RunPython(_drop, _recreate),
        migrations.DeleteModel(name="PublishBlock"),
    ]
