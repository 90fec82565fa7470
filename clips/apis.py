"""The clips API: make a clip of a live room or a VOD range, read, rename, delete, count views, danmaku."""

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import UserBriefSerializer
from clips import selectors, services
from clips.models import Clip
from rooms.selectors import room_detail
from vod import selectors as vod_selectors
from vod.apis import (
    DanmakuWindowOutputSerializer,
    DanmakuWindowSerializer,
    VodViewOutputSerializer,
    viewer_identity,
)


class ClipOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Clip.Status.choices)
    duration_s = serializers.FloatField(allow_null=True)
    hls_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    room = serializers.IntegerField(source="room_id")
    created_by = UserBriefSerializer(allow_null=True)
    view_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()
    failure_reason = serializers.CharField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_hls_url(self, clip: Clip) -> str | None:
        if clip.status != Clip.Status.READY:
            return None
        return self.context["request"].build_absolute_uri(reverse("clip_playlist", args=[clip.slug]))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail_url(self, clip: Clip) -> str | None:
        return selectors.clip_thumbnail_url(clip)

    @extend_schema_field(serializers.URLField())
    def get_url(self, clip: Clip) -> str:
        return self.context["request"].build_absolute_uri(reverse("clip_detail", args=[clip.slug]))


def _created(request, clip: Clip) -> Response:
    return Response(
        ClipOutputSerializer(clip, context={"request": request}).data, status=status.HTTP_201_CREATED
    )


def _rate_limited() -> Throttled:
    return Throttled(
        detail=_("You made %(count)d clips within the hour: wait a little before the next.")
        % {"count": settings.CLIP_RATE_PER_HOUR}
    )


class LiveClipInputSerializer(serializers.Serializer):
    seconds = serializers.IntegerField(
        min_value=1, max_value=3600, required=False, help_text=_("How many of the last seconds (10-60).")
    )


class RoomClipCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LiveClipInputSerializer,
        responses={201: ClipOutputSerializer},
        summary=_("Clip the last seconds of a live room (processing, then ready within seconds)"),
    )
    def post(self, request, pk: int):
        room = room_detail(pk=pk)
        if room is None:
            raise Http404
        data = LiveClipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        seconds = data.validated_data.get("seconds", settings.CLIP_DEFAULT_S)
        try:
            clip = services.clip_create_live(room=room, user=request.user, seconds=seconds)
        except services.ClipRateLimited:
            raise _rate_limited() from None
        return _created(request, clip)


class VodClipInputSerializer(serializers.Serializer):
    start_s = serializers.FloatField(min_value=0, max_value=7 * 24 * 3600)
    end_s = serializers.FloatField(min_value=0, max_value=7 * 24 * 3600)


class VodClipCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=VodClipInputSerializer,
        responses={201: ClipOutputSerializer},
        summary=_("Clip a range of a VOD (10-60 s)"),
    )
    def post(self, request, pk: int):
        vod = vod_selectors.vod_visible(pk=pk, user=request.user)
        if vod is None:
            raise Http404
        data = VodClipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            clip = services.clip_create_from_vod(vod=vod, user=request.user, **data.validated_data)
        except services.ClipRateLimited:
            raise _rate_limited() from None
        return _created(request, clip)


class ClipListApi(generics.ListAPIView):
    class FilterSerializer(serializers.Serializer):
        room = serializers.IntegerField(
            min_value=1, max_value=2**63 - 1, required=False, help_text=_("Only this room's clips.")
        )

    serializer_class = ClipOutputSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.clips_of_room(room_id=filters.validated_data.get("room"))

    @extend_schema(parameters=[FilterSerializer], summary=_("Ready clips, newest first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ClipUpdateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=Clip._meta.get_field("title").max_length, required=False)


def _clip_or_404(slug: str) -> Clip:
    clip = selectors.clip_by_slug(slug=slug)
    if clip is None:
        raise Http404
    return clip


class ClipDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=ClipOutputSerializer, summary=_("A clip (poll it until it is ready)"))
    def get(self, request, slug: str):
        return Response(ClipOutputSerializer(_clip_or_404(slug), context={"request": request}).data)

    @extend_schema(
        request=ClipUpdateInputSerializer,
        responses=ClipOutputSerializer,
        summary=_("Rename a clip (its maker)"),
    )
    def patch(self, request, slug: str):
        clip = _clip_or_404(slug)
        data = ClipUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not services.clip_may_rename(clip=clip, user=request.user):
            raise PermissionDenied(_("Only the maker of a clip may rename it."))
        clip = services.clip_update(clip=clip, user=request.user, changes=data.validated_data)
        return Response(ClipOutputSerializer(clip, context={"request": request}).data)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Deleted, with its stored video."))},
        summary=_("Delete a clip (the streamer, the room's moderators, staff)"),
    )
    def delete(self, request, slug: str):
        clip = _clip_or_404(slug)
        if not services.clip_may_delete(clip=clip, user=request.user):
            raise PermissionDenied(_("Only the streamer, the room's moderators and staff may delete clips."))
        services.clip_delete(clip=clip, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClipViewApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses=VodViewOutputSerializer,
        summary=_("Count a view (the player calls it when playback starts)"),
    )
    def post(self, request, slug: str):
        clip = _clip_or_404(slug)
        if clip.status != Clip.Status.READY:
            raise Http404
        counted = services.clip_view_count(clip=clip, viewer=viewer_identity(request))
        clip.refresh_from_db(fields=["view_count"])
        return Response({"counted": counted, "view_count": clip.view_count})


class ClipDanmakuApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[DanmakuWindowSerializer],
        responses=DanmakuWindowOutputSerializer,
        summary=_("The danmaku sent during the clip, on the clip's time (0 = its start)"),
    )
    def get(self, request, slug: str):
        window = DanmakuWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        documents, truncated = selectors.clip_danmaku(clip=_clip_or_404(slug), **window.validated_data)
        return Response(
            DanmakuWindowOutputSerializer(
                {**window.validated_data, "truncated": truncated, "results": documents}
            ).data
        )
