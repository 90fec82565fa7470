from rest_framework import serializers

from notifications.models import Notification
from rooms.serializers import UserBriefSerializer


class TitledRefSerializer(serializers.Serializer):
    """A room or VOD a notification points at."""

    id = serializers.IntegerField()
    title = serializers.CharField()


class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    message = serializers.CharField()
    actor = UserBriefSerializer(allow_null=True)
    room = TitledRefSerializer(allow_null=True)
    vod = TitledRefSerializer(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
