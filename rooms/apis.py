from django.conf import settings
from django.http import Http404
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import user_may_stream
from rooms import cache, selectors, services
from rooms.cache import anonymous_page
from rooms.models import Category, Room
from rooms.serializers import (
    RoomDetailOutputSerializer,
    RoomOutputSerializer,
    StreamKeyOutputSerializer,
    UserProfileOutputSerializer,
)
from streamlite.api import IsOwner, IsOwnerOrStaff


def room_or_404(pk: int) -> Room:
    room = selectors.room_listed(pk=pk)
    if room is None:
        raise Http404
    return room


class RoomInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=Room._meta.get_field("title").max_length)
    description = serializers.CharField(
        max_length=Room._meta.get_field("description").max_length, required=False, allow_blank=True
    )
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )


class RoomUpdateInputSerializer(RoomInputSerializer):
    allow_comments = serializers.BooleanField(required=False)
    clips_allowed = serializers.BooleanField(required=False)


class RoomListCreateApi(generics.ListAPIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Room.Status.choices, required=False)
        category = serializers.SlugField(max_length=60, required=False, help_text=_("A category's slug."))
        tag = serializers.SlugField(
            max_length=40, required=False, help_text=_("A tag's slug: rooms of the categories with this tag.")
        )
        q = serializers.CharField(
            max_length=100, required=False, help_text=_("Text in the title or the streamer's name.")
        )

    serializer_class = RoomOutputSerializer

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        if filters.validated_data == {"status": Room.Status.LIVE}:
            return cache.live_rooms()  # the hot list apps poll
        return selectors.rooms_filtered(
            status=filters.validated_data.get("status", ""),
            category_slug=filters.validated_data.get("category", ""),
            tag_slug=filters.validated_data.get("tag", ""),
            text=filters.validated_data.get("q", ""),
        )

    @classmethod
    def as_view(cls, **initkwargs):
        # Outside DRF: an anonymous answer from the cache skips authentication, negotiation and throttling
        # (it costs the server no more than a trivial view; bench/bench_pages.py).
        return anonymous_page(super().as_view(**initkwargs))

    @extend_schema(parameters=[FilterSerializer], summary=_("Rooms, live ones first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=RoomInputSerializer,
        responses={201: RoomDetailOutputSerializer},
        summary=_("Open a room (within the user's room quota)"),
    )
    def post(self, request):
        data = RoomInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not user_may_stream(user=request.user):
            raise PermissionDenied(_("Staff must approve your streamer application first."))
        room = services.room_create(owner=request.user, **data.validated_data)
        return Response(RoomDetailOutputSerializer(room_or_404(room.pk)).data, status=status.HTTP_201_CREATED)


class RoomDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, IsOwnerOrStaff]

    @extend_schema(responses=RoomDetailOutputSerializer)
    def get(self, request, pk: int):
        return Response(RoomDetailOutputSerializer(room_or_404(pk)).data)

    @extend_schema(
        request=RoomUpdateInputSerializer,
        responses=RoomDetailOutputSerializer,
        summary=_("Edit a room (its owner or staff)"),
    )
    def patch(self, request, pk: int):
        room = room_or_404(pk)
        self.check_object_permissions(request, room)
        data = RoomUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.room_update(room=room, changes=data.validated_data)
        return Response(RoomDetailOutputSerializer(room_or_404(pk)).data)


def stream_key_response(room: Room) -> Response:
    key = selectors.stream_key_active(room=room)
    if key is None:
        raise NotFound(_("This room has no active stream key; reset it to get one."))
    response = Response(
        StreamKeyOutputSerializer({"rtmp_url": settings.RTMP_PUBLIC_URL, "stream_key": key.secret}).data
    )
    add_never_cache_headers(response)  # a secret: no browser or proxy may keep a copy
    return response


class StreamKeyApi(APIView):
    permission_classes = [IsAuthenticated, IsOwner]

    @extend_schema(
        responses=StreamKeyOutputSerializer, summary=_("The room's RTMP URL and stream key (owner)")
    )
    def get(self, request, pk: int):
        room = room_or_404(pk)
        self.check_object_permissions(request, room)
        return stream_key_response(room)


class StreamKeyResetApi(APIView):
    permission_classes = [IsAuthenticated, IsOwner]

    @extend_schema(
        request=None,
        responses=StreamKeyOutputSerializer,
        summary=_("Revoke the stream key and issue a new one (owner)"),
    )
    def post(self, request, pk: int):
        room = room_or_404(pk)
        self.check_object_permissions(request, room)
        services.stream_key_reset(room=room, by=request.user)
        return stream_key_response(room)


class FollowApi(APIView):
    permission_classes = [IsAuthenticated]

    def followed_or_404(self, username: str):
        followed = selectors.user_profile(username=username)
        if followed is None:
            raise Http404
        return followed

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description=_("Following (also when already following)."))},
        summary=_("Follow a user"),
    )
    def post(self, request, username: str):
        services.follow_create(follower=request.user, followed=self.followed_or_404(username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Not following (also when never following)."))},
        summary=_("Unfollow a user"),
    )
    def delete(self, request, username: str):
        services.follow_delete(follower=request.user, followed=self.followed_or_404(username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    class AlertsInputSerializer(serializers.Serializer):
        notify = serializers.BooleanField(
            required=False, help_text=_("Whether this follow brings go-live alerts.")
        )
        email_live = serializers.BooleanField(
            required=False, help_text=_("Whether this follow brings an e-mail when the streamer goes live.")
        )
        email_vod = serializers.BooleanField(
            required=False, help_text=_("Whether this follow brings an e-mail about new videos.")
        )

        def validate(self, attrs):
            if not attrs:
                raise serializers.ValidationError(_("Say which alert to turn on or off."))
            return attrs

    class FollowOutputSerializer(serializers.Serializer):
        notify = serializers.BooleanField()
        email_live = serializers.BooleanField()
        email_vod = serializers.BooleanField()

    @extend_schema(
        request=AlertsInputSerializer,
        responses=FollowOutputSerializer,
        summary=_("Turn a follow's go-live alerts and e-mail on or off"),
    )
    def patch(self, request, username: str):
        data = self.AlertsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        follow = services.follow_alerts_set(
            follower=request.user, followed=self.followed_or_404(username), alerts=data.validated_data
        )
        if follow is None:
            raise NotFound(_("You do not follow this user."))
        return Response(self.FollowOutputSerializer(follow).data)


class UserProfileApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=UserProfileOutputSerializer, summary=_("A user's public profile and rooms"))
    def get(self, request, username: str):
        user = selectors.user_profile(username=username)
        if user is None:
            raise Http404
        user.listed_rooms = selectors.rooms_filtered(owner=user)
        return Response(UserProfileOutputSerializer(user).data)
