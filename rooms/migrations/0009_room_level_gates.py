from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rooms', '0008_follow_email_alerts'),
    ]

    operations = [
        migrations.AddField(
            model_name='room',
            name='danmaku_style_min_level',
            field=models.PositiveSmallIntegerField(default=0, help_text='Viewers below this level send white scrolling danmaku only. 0: anyone.', verbose_name='level for coloured and top/bottom danmaku'),
        ),
        migrations.AddField(
            model_name='room',
            name='slow_mode_min_level',
            field=models.PositiveSmallIntegerField(default=0, help_text='While slow mode is on, viewers below this level cannot chat. 0: anyone.', verbose_name='level to chat in slow mode'),
        ),
    ]
