from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0002_viewer_samples"),
    ]

    operations = [
        migrations.AddField(
            model_name="stream",
            name="recording_path",
            field=models.CharField(blank=True, max_length=500),
        ),
    ]
