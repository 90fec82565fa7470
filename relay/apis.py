"""The restream and playout API (docs/restream.md): a room owner's destinations (keys are write-only) and
scheduled playouts."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from relay import selectors, services
from relay.models import Destination, Playout, PlayoutError, RelayError
from rooms.apis import room_or_404
from streamlite.api import IsOwner
from streamlite.parsers import LimitedJSONParser
from vod.models import Vod


class DestinationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.CharField()
    key_hint = serializers.CharField(help_text=_("The key's last characters (empty for short keys)."))
    enabled = serializers.BooleanField()
    state = serializers.ChoiceField(choices=Destination.State.choices)
    error = serializers.SerializerMethodField(help_text=_("Why the relay failed, in words; empty if not."))
    error_code = serializers.ChoiceField(choices=RelayError.choices, source="error", allow_blank=True)
    bitrate_kbps = serializers.IntegerField(allow_null=True)
    live_since = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_error(self, destination: Destination) -> str:
        return str(RelayError(destination.error).label) if destination.error else ""


class DestinationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=Destination._meta.get_field("name").max_length)
    url = serializers.CharField(
        max_length=Destination._meta.get_field("url").max_length,
        help_text=_("rtmp:// or rtmps:// server URL, without the key."),
    )
    key = serializers.CharField(max_length=services.KEY_MAX_LENGTH, write_only=True, trim_whitespace=False)
    enabled = serializers.BooleanField(required=False, default=True)


class DestinationPatchSerializer(DestinationInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


def _owned_room(request, pk: int):
    room = room_or_404(pk)
    if not IsOwner().has_object_permission(request, None, room):
        raise PermissionDenied(IsOwner.message)
    return room


class RoomDestinationsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=DestinationOutputSerializer(many=True),
        summary=_("The room's restream destinations (owner)"),
    )
    def get(self, request, pk: int):
        room = _owned_room(request, pk)
        destinations = selectors.destinations_of_room(room=room)
        return Response(DestinationOutputSerializer(destinations, many=True).data)

    @extend_schema(
        request=DestinationInputSerializer,
        responses={201: DestinationOutputSerializer},
        summary=_("Add a restream destination to the room (owner)"),
    )
    def post(self, request, pk: int):
        room = _owned_room(request, pk)
        data = DestinationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        destination = services.destination_create(user=request.user, room=room, **data.validated_data)
        return Response(DestinationOutputSerializer(destination).data, status=status.HTTP_201_CREATED)


class DestinationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def _destination(self, request, pk: int) -> Destination:
        destination = selectors.destination_of_owner(user=request.user, pk=pk)
        if destination is None:
            raise Http404
        return destination

    @extend_schema(responses=DestinationOutputSerializer, summary=_("A restream destination (owner)"))
    def get(self, request, pk: int):
        return Response(DestinationOutputSerializer(self._destination(request, pk)).data)

    @extend_schema(
        request=DestinationPatchSerializer,
        responses=DestinationOutputSerializer,
        summary=_("Change, enable or disable a restream destination (owner)"),
    )
    def patch(self, request, pk: int):
        destination = self._destination(request, pk)
        data = DestinationPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        destination = services.destination_update(destination=destination, **data.validated_data)
        return Response(DestinationOutputSerializer(destination).data)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Deleted; its relay stops."))},
        summary=_("Delete a restream destination (owner)"),
    )
    def delete(self, request, pk: int):
        services.destination_delete(destination=self._destination(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlayoutOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    vod = serializers.IntegerField(source="vod_id", allow_null=True)
    has_upload = serializers.SerializerMethodField()
    starts_at = serializers.DateTimeField()
    loop = serializers.BooleanField()
    state = serializers.ChoiceField(choices=Playout.State.choices)
    error = serializers.SerializerMethodField()
    error_code = serializers.ChoiceField(choices=PlayoutError.choices, source="error", allow_blank=True)
    staff_note = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_has_upload(self, playout: Playout) -> bool:
        return bool(playout.upload)

    def get_error(self, playout: Playout) -> str:
        return str(PlayoutError(playout.error).label) if playout.error else ""


class PlayoutInputSerializer(serializers.Serializer):
    vod = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    upload = serializers.FileField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField()
    loop = serializers.BooleanField(required=False, default=False)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class RoomPlayoutsApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [LimitedJSONParser, MultiPartParser]

    @extend_schema(responses=PlayoutOutputSerializer(many=True), summary=_("The room's playouts (owner)"))
    def get(self, request, pk: int):
        room = _owned_room(request, pk)
        return Response(PlayoutOutputSerializer(selectors.playouts_of_room(room=room), many=True).data)

    @extend_schema(
        request={"application/json": PlayoutInputSerializer, "multipart/form-data": PlayoutInputSerializer},
        responses={201: PlayoutOutputSerializer},
        summary=_("Schedule one of the room's VODs or an uploaded video to go live (owner)"),
    )
    def post(self, request, pk: int):
        room = _owned_room(request, pk)
        data = PlayoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        vod_id = values.pop("vod", None)
        vod = None
        if vod_id is not None:
            vod = Vod.objects.filter(pk=vod_id, room=room).first()
            if vod is None:
                raise serializers.ValidationError({"vod": [_("Choose a ready video of this room.")]})
        playout = services.playout_create(user=request.user, room=room, vod=vod, **values)
        return Response(PlayoutOutputSerializer(playout).data, status=status.HTTP_201_CREATED)


class PlayoutDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    def _playout(self, request, pk: int) -> Playout:
        playout = selectors.playout_of_owner(user=request.user, pk=pk)
        if playout is None:
            raise Http404
        return playout

    @extend_schema(responses=PlayoutOutputSerializer, summary=_("A playout (owner)"))
    def get(self, request, pk: int):
        return Response(PlayoutOutputSerializer(self._playout(request, pk)).data)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Cancelled; a running playout stops."))},
        summary=_("Cancel a playout (owner)"),
    )
    def delete(self, request, pk: int):
        services.playout_cancel(playout=self._playout(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
