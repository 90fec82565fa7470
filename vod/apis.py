"""The VOD API (DESIGN §3): list, detail, owner changes, views, and danmaku replay windows."""

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.apis import MessageUserSerializer, archived_user
from rooms.models import Category
from rooms.serializers import CategoryBriefSerializer
from vod import selectors, services
from vod.models import Vod, VodRendition

DANMAKU_MAX_WINDOW_MS = 10 * 60 * 1000
MAX_VPOS_MS = 7 * 24 * 60 * 60 * 1000
MAX_BUCKETS = 500


def viewer_identity(request) -> str:
    """Who watches, for counting views: the user; else the session, else the address (cookie-less clients)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    session_key = request.session.session_key
    if session_key:
        return f"session:{session_key}"
    return f"addr:{request.META.get('REMOTE_ADDR', '')}"


class VodOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField(source="room_id")
    title = serializers.CharField()
    description = serializers.CharField()
    category = CategoryBriefSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=Vod.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    duration_s = serializers.IntegerField(allow_null=True)
    hls_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    view_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_hls_url(self, vod: Vod) -> str | None:
        request = self.context["request"]
        if not selectors.vod_playable(vod=vod, user=request.user):
            return None
        return request.build_absolute_uri(reverse("vod_playlist", args=[vod.pk]))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail_url(self, vod: Vod) -> str | None:
        return selectors.vod_thumbnail_url(vod)


class VodRenditionOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    height = serializers.IntegerField()
    status = serializers.ChoiceField(choices=VodRendition.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    failure_reason = serializers.CharField()


class VodOwnerOutputSerializer(VodOutputSerializer):
    """What the owner's dashboard also shows."""

    failure_reason = serializers.CharField()
    renditions = VodRenditionOutputSerializer(
        many=True,
        source="renditions.all",
        help_text=_("The quality ladder's rungs below the source, highest first, as they are made."),
    )


def _serializer_for(request, vod: Vod):
    owner = selectors.vod_may_change(vod=vod, user=request.user)
    serializer = VodOwnerOutputSerializer if owner else VodOutputSerializer
    return serializer(vod, context={"request": request})


def _vod_or_404(request, pk: int) -> Vod:
    vod = selectors.vod_visible(pk=pk, user=request.user)
    if vod is None:
        raise Http404
    return vod


def _owned_vod(request, pk: int) -> Vod:
    vod = _vod_or_404(request, pk)
    if not selectors.vod_may_change(vod=vod, user=request.user):
        raise PermissionDenied(_("Only the streamer may change this VOD."))
    return vod


class VodListApi(generics.ListAPIView):
    class FilterSerializer(serializers.Serializer):
        room = serializers.IntegerField(
            min_value=1, max_value=2**63 - 1, required=False, help_text=_("Only this room's VODs.")
        )
        q = serializers.CharField(
            max_length=100,
            required=False,
            help_text=_("Text in the title, description, room, streamer's name, category or tags."),
        )
        category = serializers.SlugField(max_length=60, required=False, help_text=_("A category's slug."))
        tag = serializers.SlugField(
            max_length=40, required=False, help_text=_("A tag's slug: VODs of the categories with this tag.")
        )

    serializer_class = VodOwnerOutputSerializer

    def get_queryset(self):
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        found = filters.validated_data
        return selectors.vods_filtered(
            user=self.request.user,
            room_id=found.get("room"),
            text=found.get("q", ""),
            category_slug=found.get("category", ""),
            tag_slug=found.get("tag", ""),
        ).prefetch_related("renditions")

    @extend_schema(
        parameters=[FilterSerializer],
        summary=_("VODs, newest first: ready ones, and the owner's own in every state"),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VodUpdateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=Vod._meta.get_field("title").max_length, required=False)
    description = serializers.CharField(
        max_length=Vod._meta.get_field("description").max_length, required=False, allow_blank=True
    )
    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("A category's slug, or null for none."),
    )
    status = serializers.ChoiceField(
        choices=[(Vod.Status.READY, _("Published")), (Vod.Status.HIDDEN, _("Hidden"))],
        required=False,
        help_text=_('"hidden" hides the VOD, "ready" publishes it again.'),
    )


class VodDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(responses=VodOwnerOutputSerializer, summary=_("A VOD"))
    def get(self, request, pk: int):
        return Response(_serializer_for(request, _vod_or_404(request, pk)).data)

    @extend_schema(
        request=VodUpdateInputSerializer,
        responses=VodOwnerOutputSerializer,
        summary=_("Rename, hide or publish a VOD (its streamer)"),
    )
    def patch(self, request, pk: int):
        vod = _owned_vod(request, pk)
        data = VodUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.vod_update(vod=vod, changes=data.validated_data)
        return Response(_serializer_for(request, _vod_or_404(request, pk)).data)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Deleted, with its stored video."))},
        summary=_("Delete a VOD and its stored video (its streamer)"),
    )
    def delete(self, request, pk: int):
        services.vod_delete(vod=_owned_vod(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VodRetryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses=VodOwnerOutputSerializer,
        summary=_("Process a failed VOD again (its streamer)"),
    )
    def post(self, request, pk: int):
        vod = services.vod_retry(vod=_owned_vod(request, pk))
        return Response(_serializer_for(request, vod).data)


class VodViewOutputSerializer(serializers.Serializer):
    counted = serializers.BooleanField(help_text=_("False when this viewer was counted in the last minutes."))
    view_count = serializers.IntegerField()


class VodViewApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses=VodViewOutputSerializer,
        summary=_("Count a view (the player calls it when playback starts; once per viewer per 5 minutes)"),
    )
    def post(self, request, pk: int):
        vod = _vod_or_404(request, pk)
        if not selectors.vod_playable(vod=vod, user=request.user):
            raise Http404
        counted = services.vod_view_count(vod=vod, viewer=viewer_identity(request))
        vod.refresh_from_db(fields=["view_count"])
        return Response({"counted": counted, "view_count": vod.view_count})


class DanmakuWindowSerializer(serializers.Serializer):
    from_ms = serializers.IntegerField(min_value=0, max_value=MAX_VPOS_MS)
    to_ms = serializers.IntegerField(min_value=1, max_value=MAX_VPOS_MS)

    def validate(self, attrs):
        span = attrs["to_ms"] - attrs["from_ms"]
        if span <= 0:
            raise serializers.ValidationError({"to_ms": _("Must be greater than from_ms.")})
        if span > DANMAKU_MAX_WINDOW_MS:
            raise serializers.ValidationError(
                {"to_ms": _("A window spans at most %(ms)d ms.") % {"ms": DANMAKU_MAX_WINDOW_MS}}
            )
        return attrs


class DanmakuOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="_id")
    user = serializers.SerializerMethodField()
    text = serializers.CharField()
    mode = serializers.CharField(allow_null=True, default=None)
    color = serializers.CharField(allow_null=True, default=None)
    size = serializers.CharField(allow_null=True, default=None)
    lane = serializers.IntegerField(allow_null=True, default=None)
    vpos_ms = serializers.IntegerField()

    @extend_schema_field(MessageUserSerializer)
    def get_user(self, document) -> dict:
        return archived_user(document)


class DanmakuWindowOutputSerializer(serializers.Serializer):
    from_ms = serializers.IntegerField()
    to_ms = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text=_("True when the window held more than the limit."))
    results = DanmakuOutputSerializer(many=True)


class VodDanmakuApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[DanmakuWindowSerializer],
        responses=DanmakuWindowOutputSerializer,
        summary=_("The VOD's danmaku sent between from_ms and to_ms of the stream, by time (≤ 2000)"),
    )
    def get(self, request, pk: int):
        window = DanmakuWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        vod = _vod_or_404(request, pk)
        documents, truncated = selectors.vod_danmaku(vod=vod, **window.validated_data)
        return Response(
            DanmakuWindowOutputSerializer(
                {**window.validated_data, "truncated": truncated, "results": documents}
            ).data
        )


class ChatReplayOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="_id")
    user = serializers.SerializerMethodField()
    text = serializers.CharField(default="")
    vpos_ms = serializers.IntegerField()

    @extend_schema_field(MessageUserSerializer)
    def get_user(self, document) -> dict:
        return archived_user(document)


class ChatReplayWindowOutputSerializer(serializers.Serializer):
    from_ms = serializers.IntegerField()
    to_ms = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text=_("True when the window held more than the limit."))
    results = ChatReplayOutputSerializer(many=True)


class VodChatApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[DanmakuWindowSerializer],
        responses=ChatReplayWindowOutputSerializer,
        summary=_("The VOD's chat messages sent between from_ms and to_ms of the stream, by time (≤ 2000)"),
    )
    def get(self, request, pk: int):
        window = DanmakuWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        vod = _vod_or_404(request, pk)
        documents, truncated = selectors.vod_chat(vod=vod, **window.validated_data)
        return Response(
            ChatReplayWindowOutputSerializer(
                {**window.validated_data, "truncated": truncated, "results": documents}
            ).data
        )


class DensityInputSerializer(serializers.Serializer):
    buckets = serializers.IntegerField(min_value=1, max_value=MAX_BUCKETS, default=100)


class DensityOutputSerializer(serializers.Serializer):
    duration_ms = serializers.IntegerField()
    bucket_ms = serializers.IntegerField()
    counts = serializers.ListField(child=serializers.IntegerField())


class VodDanmakuDensityApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[DensityInputSerializer],
        responses=DensityOutputSerializer,
        summary=_("How many danmaku fall into each equal slice of the VOD (the seek bar heatmap)"),
    )
    def get(self, request, pk: int):
        params = DensityInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        vod = _vod_or_404(request, pk)
        return Response(
            DensityOutputSerializer(
                selectors.vod_danmaku_density(vod=vod, buckets=params.validated_data["buckets"])
            ).data
        )
