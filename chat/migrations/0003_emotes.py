import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_pinnedmessage'),
        ('rooms', '0005_category_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Emote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(help_text='Typed as :name: in chat.', max_length=32, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9_]{2,32}$', '2 to 32 letters (a-z, A-Z), digits or underscores.', code='emote_name')], verbose_name='name')),
                ('image', models.ImageField(upload_to='emotes/', verbose_name='image')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('room', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='emotes', to='rooms.room')),
            ],
            options={
                'ordering': ['name'],
                'constraints': [
                    models.UniqueConstraint(models.F('room'), django.db.models.functions.text.Lower('name'), condition=models.Q(('room__isnull', False)), name='unique_room_emote_name'),
                    models.UniqueConstraint(django.db.models.functions.text.Lower('name'), condition=models.Q(('room__isnull', True)), name='unique_site_emote_name'),
                ],
            },
        ),
        migrations.CreateModel(
            name='EmoteUse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('count', models.PositiveBigIntegerField(default=0)),
                ('emote', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='uses', to='chat.emote')),
                ('room', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rooms.room')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('emote', 'room'), name='unique_emote_use_per_room')],
            },
        ),
    ]
