from rest_framework import serializers

from notifications.models import Notification
from notifications.texts import notification_text_of
from rooms.serializers import UserBriefSerializer


class TitledRefSerializer(serializers.Serializer):
    """A room or VOD a notification points at."""

    id = serializers.IntegerField()
    title = serializers.CharField()


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    message = serializers.SerializerMethodField()
    actor = UserBriefSerializer(allow_null=True)
    room = TitledRefSerializer(allow_null=True)
    vod = TitledRefSerializer(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_message(self, notification: Notification) -> str:
        # In the reader's language (notifications.texts); the stored sentence for system messages.
        return notification_text_of(notification)
