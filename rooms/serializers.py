"""The room as the API shows it (DESIGN §3), shared by every endpoint that lists rooms."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from rooms.models import Room


class CategoryBriefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField(source="shown_name")


class RoomOutputSerializer(serializers.Serializer):
    """A room card, as every room list and the room itself show it."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    owner = UserBriefSerializer()
    status = serializers.ChoiceField(choices=Room.Status.choices)
    viewer_count = serializers.IntegerField()
    cover_url = serializers.SerializerMethodField()
    category = CategoryBriefSerializer(allow_null=True)
    hls_url = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(source="live_started_at", allow_null=True)
    preview_url = serializers.CharField(source="live_preview_url", allow_null=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cover_url(self, room: Room) -> str | None:
        return room.cover.url if room.cover else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_hls_url(self, room: Room) -> str | None:
        return room.hls_playlist_url if room.is_live else None


class RoomDetailOutputSerializer(RoomOutputSerializer):
    description = serializers.CharField()
    allow_comments = serializers.BooleanField()
    clips_allowed = serializers.BooleanField()


class StreamKeyOutputSerializer(serializers.Serializer):
    """What OBS needs; only ever sent to the room's owner."""

    rtmp_url = serializers.CharField()
    stream_key = serializers.CharField()


class UserProfileOutputSerializer(UserBriefSerializer):
    """A public profile: nothing private (email, keys) and the user's rooms as cards."""

    bio = serializers.CharField()
    follower_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    rooms = RoomOutputSerializer(many=True, source="listed_rooms")  # set by the view from a rooms selector
