from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_active
from chat import selectors, services
from chat.forms import EmoteForm
from chat.models import ChatBan, Emote
from chat.wordfilter import words_parse
from rooms.models import Room

# Past this, an id or a JSON number is no longer exact in every client.
ID_MAX = 2**53


class ArchiveUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The chat archive is unavailable for a moment; try again shortly.")
    default_code = "archive_unavailable"


class PresenceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("Who is watching cannot be told for a moment; try again shortly.")
    default_code = "presence_unavailable"


def room_or_404(pk: int) -> Room:
    room = Room.objects.filter(pk=pk).first()
    if room is None:
        raise Http404
    return room


def user_or_404(username: str) -> User:
    user = user_active(username=username)
    if user is None:
        raise Http404
    return user


class MessageUserSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    level = serializers.IntegerField(
        required=False, help_text=_("The author's level when they sent it (absent on older messages).")
    )


def archived_user(doc: dict) -> dict:
    """The author of an archived message (chat history, VOD danmaku), in MessageUserSerializer's shape."""
    user = {"username": doc.get("username", ""), "display_name": doc.get("display_name", "")}
    if doc.get("level") is not None:
        user["level"] = doc["level"]
    return user


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="_id")
    user = serializers.SerializerMethodField()
    text = serializers.CharField()
    kind = serializers.ChoiceField(choices=["chat", "danmaku"])
    mode = serializers.CharField(allow_null=True)
    color = serializers.CharField(allow_null=True)
    size = serializers.CharField(allow_null=True)
    vpos_ms = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(MessageUserSerializer)
    def get_user(self, doc) -> MessageUserSerializer:
        return archived_user(doc)

    def to_representation(self, doc):
        # Documents come from another process: a field it left out reads as empty, never as a 500.
        doc = {"mode": None, "color": None, "size": None, "vpos_ms": None, "text": "", **doc}
        return super().to_representation(doc)


class MessageHistoryApi(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        before = serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, help_text=_("Only messages older than this id.")
        )
        limit = serializers.IntegerField(min_value=1, max_value=100, default=50)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=MessageOutputSerializer(many=True),
        summary=_("The room's chat history, newest first (next page: before = the last id)"),
    )
    def get(self, request, pk: int):
        room = room_or_404(pk)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        try:
            found = selectors.room_messages(room_id=room.pk, **filters.validated_data)
        except PyMongoError as error:
            raise ArchiveUnavailable from error
        return Response(MessageOutputSerializer(found, many=True).data)


class ViewerListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        signed_in = serializers.IntegerField()
        anonymous = serializers.IntegerField()
        users = MessageUserSerializer(many=True)

    @extend_schema(responses=OutputSerializer, summary=_("Who watches the room now"))
    def get(self, request, pk: int):
        room = room_or_404(pk)
        try:
            viewers = selectors.room_viewers(room_id=room.pk)
        except RedisError as error:
            raise PresenceUnavailable from error
        return Response(self.OutputSerializer(viewers).data)


class ModerationApi(APIView):
    """Chat moderation in one room: its owner, its moderators, or staff (the services check)."""

    permission_classes = [IsAuthenticated]

    def room_moderated(self, request, pk: int) -> Room:
        # Refused before the input is read: a stranger learns nothing from validation errors.
        room = room_or_404(pk)
        if not services.moderation_allowed(room=room, user=request.user):
            raise exceptions.PermissionDenied(
                _("Only the room's owner, its moderators and staff may do this.")
            )
        return room


class MessageDeleteApi(ModerationApi):
    class MessageDeleteInputSerializer(serializers.Serializer):
        message_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)

    @extend_schema(
        request=MessageDeleteInputSerializer,
        responses={204: OpenApiResponse(description=_("Deleted for everyone."))},
        summary=_("Delete a chat message (room moderators)"),
    )
    def post(self, request, pk: int):
        room = self.room_moderated(request, pk)
        data = self.MessageDeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.chat_message_delete(room=room, message_id=data.validated_data["message_id"], by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShownMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = MessageUserSerializer()
    text = serializers.CharField()
    kind = serializers.CharField(help_text=_('"chat" or "danmaku".'))
    created_at = serializers.CharField()


class MessageIdInputSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=1, max_value=ID_MAX)


class PinApi(ModerationApi):
    @extend_schema(
        request=MessageIdInputSerializer,
        responses=ShownMessageSerializer,
        summary=_("Pin a message above the room's chat, in place of the one before (room moderators)"),
    )
    def post(self, request, pk: int):
        room = self.room_moderated(request, pk)
        data = MessageIdInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pin = services.chat_message_pin(
            room=room, message_id=data.validated_data["message_id"], by=request.user
        )
        return Response(ShownMessageSerializer(pin.message).data)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("No message is pinned in the room."))},
        summary=_("Unpin the room's pinned message (room moderators)"),
    )
    def delete(self, request, pk: int):
        services.chat_message_unpin(room=self.room_moderated(request, pk), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HighlightApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=MessageIdInputSerializer,
        responses=ShownMessageSerializer,
        summary=_("Show a message over the room's video once (the streamer)"),
    )
    def post(self, request, pk: int):
        room = room_or_404(pk)
        if not services.highlight_allowed(room=room, user=request.user):
            raise exceptions.PermissionDenied(_("Only the streamer or staff may highlight a message."))
        data = MessageIdInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.chat_message_highlight(
            room=room, message_id=data.validated_data["message_id"], by=request.user
        )
        return Response(ShownMessageSerializer(message).data)


class BanOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = ChatBan
        fields = ["id", "username", "room", "reason", "expires_at", "created_at"]


def target_user(username: str) -> User:
    user = user_active(username=username)
    if user is None:
        raise serializers.ValidationError({"username": [_("There is no such user.")]})
    return user


class TimeoutApi(ModerationApi):
    class TimeoutInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        minutes = serializers.ChoiceField(choices=services.TIMEOUT_MINUTES)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        request=TimeoutInputSerializer,
        responses={201: BanOutputSerializer},
        summary=_("Time a user out of the room's chat for 5, 60 or 1440 minutes (room moderators)"),
    )
    def post(self, request, pk: int):
        room = self.room_moderated(request, pk)
        data = self.TimeoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ban = services.chat_timeout(
            room=room,
            user=target_user(data.validated_data["username"]),
            minutes=data.validated_data["minutes"],
            by=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(BanOutputSerializer(ban).data, status=status.HTTP_201_CREATED)


class BanApi(ModerationApi):
    class BanInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        request=BanInputSerializer,
        responses={201: BanOutputSerializer},
        summary=_("Ban a user from the room's chat until lifted (room moderators)"),
    )
    def post(self, request, pk: int):
        room = self.room_moderated(request, pk)
        data = self.BanInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ban = services.chat_room_ban(
            room=room,
            user=target_user(data.validated_data["username"]),
            by=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(BanOutputSerializer(ban).data, status=status.HTTP_201_CREATED)


class BanLiftApi(ModerationApi):
    @extend_schema(
        responses={204: OpenApiResponse(description=_("No ban or timeout of the user holds in the room."))},
        summary=_("Lift a user's ban or timeout in the room (room moderators)"),
    )
    def delete(self, request, pk: int, username: str):
        room = self.room_moderated(request, pk)
        services.chat_room_ban_lift(room=room, user=user_or_404(username), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatSettingsSerializer(serializers.Serializer):
    allow_comments = serializers.BooleanField()
    slow_mode_seconds = serializers.IntegerField(
        min_value=0, max_value=3600, help_text=_("One message per user per this many seconds; 0: off.")
    )
    comment_cooldown_ms = serializers.IntegerField(min_value=0, max_value=60_000)
    blocked_words = serializers.ListField(
        child=serializers.CharField(max_length=100, trim_whitespace=True),
        max_length=services.BLOCKED_WORDS_MAX,
        help_text=_("Messages containing one of these (ignoring case) are refused."),
    )
    danmaku_style_min_level = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Level a viewer needs for coloured and top/bottom danmaku; 0: anyone."),
    )
    slow_mode_min_level = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Level a viewer needs to chat while slow mode is on; 0: anyone."),
    )


def chat_settings_response(room: Room) -> Response:
    return Response(
        ChatSettingsSerializer(
            {
                "allow_comments": room.allow_comments,
                "slow_mode_seconds": room.slow_mode_seconds,
                "comment_cooldown_ms": room.comment_cooldown_ms,
                "blocked_words": list(words_parse(room.blocked_words)),
                "danmaku_style_min_level": room.danmaku_style_min_level,
                "slow_mode_min_level": room.slow_mode_min_level,
            }
        ).data
    )


class ChatSettingsApi(ModerationApi):
    @extend_schema(responses=ChatSettingsSerializer, summary=_("The room's chat rules (room moderators)"))
    def get(self, request, pk: int):
        return chat_settings_response(self.room_moderated(request, pk))

    @extend_schema(
        request=ChatSettingsSerializer(partial=True),
        responses=ChatSettingsSerializer,
        summary=_("Change the room's chat rules: comments on/off, slow mode, cooldown, word filter"),
    )
    def patch(self, request, pk: int):
        room = self.room_moderated(request, pk)
        data = ChatSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        room = services.room_chat_rules_update(room=room, by=request.user, **data.validated_data)
        return chat_settings_response(room)


class ModeratorApi(ModerationApi):
    def room_owned(self, request, pk: int) -> Room:
        room = room_or_404(pk)
        if not (request.user.is_staff or request.user.pk == room.owner_id):
            raise exceptions.PermissionDenied(_("Only the room's owner or staff may appoint moderators."))
        return room

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description=_("The user moderates the room."))},
        summary=_("Appoint a moderator of the room's chat (owner)"),
    )
    def post(self, request, pk: int, username: str):
        services.room_moderator_add(
            room=self.room_owned(request, pk), user=user_or_404(username), by=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("The user no longer moderates the room."))},
        summary=_("Dismiss a moderator of the room's chat (owner)"),
    )
    def delete(self, request, pk: int, username: str):
        services.room_moderator_remove(
            room=self.room_owned(request, pk), user=user_or_404(username), by=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text=_("Typed as :name: in chat and danmaku."))
    url = serializers.CharField()
    scope = serializers.ChoiceField(choices=["site", "room"])


class RoomEmoteOutputSerializer(EmoteOutputSerializer):
    uses = serializers.IntegerField(help_text=_("Messages in this room that used it."))


def emotes_output(request, emotes, uses: dict[int, int] | None = None) -> list[dict]:
    entries = []
    for emote in emotes:
        entry = selectors.emote_entry(emote)
        entry["url"] = request.build_absolute_uri(entry["url"])
        if uses is not None:
            entry["uses"] = uses.get(emote.pk, 0)
        entries.append(entry)
    return entries


class SiteEmoteListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=EmoteOutputSerializer(many=True), summary=_("The site's emotes"))
    def get(self, request):
        return Response(emotes_output(request, selectors.emotes_site()))


class RoomEmoteListApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = [MultiPartParser, FormParser]

    class EmoteInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=32)
        image = serializers.ImageField(help_text=_("PNG, GIF or WebP."))

    @extend_schema(
        responses=RoomEmoteOutputSerializer(many=True),
        summary=_("The room's own emotes, with how often its chat used each"),
    )
    def get(self, request, pk: int):
        room = room_or_404(pk)
        uses = selectors.emote_uses_in_room(room_id=room.pk)
        return Response(emotes_output(request, selectors.emotes_of_room(room_id=room.pk), uses))

    @extend_schema(
        request={"multipart/form-data": EmoteInputSerializer},
        responses={201: RoomEmoteOutputSerializer},
        summary=_("Add an emote to the room (its owner, staff)"),
    )
    def post(self, request, pk: int):
        room = room_or_404(pk)
        # Refused before the upload is read: a stranger learns nothing from validation errors.
        if not services.emote_manage_allowed(room=room, user=request.user):
            raise exceptions.PermissionDenied(_("Only the room's owner or staff may add its emotes."))
        form = EmoteForm(data=request.data, files=request.FILES)
        if not form.is_valid():
            raise DjangoValidationError(form.errors.as_data())
        emote = services.emote_create(room=room, by=request.user, **form.cleaned_data)
        return Response(emotes_output(request, [emote], {})[0], status=status.HTTP_201_CREATED)


class RoomEmoteDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: OpenApiResponse(description=_("The emote is gone."))},
        summary=_("Remove one of the room's emotes (its owner, staff)"),
    )
    def delete(self, request, pk: int, emote_id: int):
        emote = Emote.objects.filter(pk=emote_id, room_id=pk).select_related("room").first()
        if emote is None:
            raise Http404
        services.emote_delete(emote=emote, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
