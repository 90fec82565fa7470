"""The schedule API (DESIGN §3): a room's upcoming streams, announcing one, and "Remind me"."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from rooms.models import Category
from rooms.selectors import room_listed
from rooms.serializers import CategoryBriefSerializer
from schedule import selectors, services
from schedule.models import ScheduledStream


class ScheduledStreamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room = serializers.IntegerField(source="room_id")
    title = serializers.CharField()
    category = CategoryBriefSerializer(allow_null=True)
    starts_at = serializers.DateTimeField()
    stream = serializers.IntegerField(source="stream_id", allow_null=True)


class ScheduledStreamInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=ScheduledStream._meta.get_field("title").max_length)
    starts_at = serializers.DateTimeField(help_text=_("ISO 8601 with a time zone, in the future."))
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), required=False, allow_null=True
    )


def _room_or_404(pk: int):
    room = room_listed(pk=pk)
    if room is None:
        raise Http404
    return room


def _scheduled_or_404(pk: int) -> ScheduledStream:
    scheduled = selectors.scheduled_stream_of(pk=pk)
    if scheduled is None:
        raise Http404
    return scheduled


class RoomScheduleApi(generics.ListAPIView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = ScheduledStreamOutputSerializer

    def get_queryset(self):
        return selectors.schedule_upcoming(room=_room_or_404(self.kwargs["pk"]))

    @extend_schema(summary=_("The room's upcoming streams, soonest first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ScheduledStreamInputSerializer,
        responses={201: ScheduledStreamOutputSerializer},
        summary=_("Announce an upcoming stream of the room (owner)"),
    )
    def post(self, request, pk: int):
        room = _room_or_404(pk)
        if room.owner_id != request.user.pk:
            raise PermissionDenied(_("Only the owner may do this."))
        data = ScheduledStreamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scheduled = services.scheduled_stream_create(room=room, **data.validated_data)
        return Response(ScheduledStreamOutputSerializer(scheduled).data, status=status.HTTP_201_CREATED)


class ScheduledStreamDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Removed from the schedule."))},
        summary=_("Remove a scheduled stream (owner)"),
    )
    def delete(self, request, pk: int):
        scheduled = _scheduled_or_404(pk)
        if scheduled.room.owner_id != request.user.pk:
            raise PermissionDenied(_("Only the owner may do this."))
        services.scheduled_stream_delete(scheduled=scheduled)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReminderApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description=_("You will be reminded before it starts."))},
        summary=_("Remind me of a scheduled stream"),
    )
    def post(self, request, pk: int):
        services.reminder_set(scheduled=_scheduled_or_404(pk), user=request.user, on=True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={204: OpenApiResponse(description=_("No reminder (also when there was none)."))},
        summary=_("Cancel a reminder"),
    )
    def delete(self, request, pk: int):
        services.reminder_set(scheduled=_scheduled_or_404(pk), user=request.user, on=False)
        return Response(status=status.HTTP_204_NO_CONTENT)
