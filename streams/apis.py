from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from rooms.selectors import room_listed
from streams.selectors import room_records_ended


class RoomRecordOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    duration_s = serializers.SerializerMethodField()
    unique_viewers = serializers.IntegerField()
    peak_viewers = serializers.IntegerField()
    total_comments = serializers.IntegerField()
    avg_watch_seconds = serializers.IntegerField()

    def get_duration_s(self, record) -> int:
        return int((record.ended_at - record.started_at).total_seconds())


class RoomRecordListApi(generics.ListAPIView):
    serializer_class = RoomRecordOutputSerializer

    def get_queryset(self):
        room = room_listed(pk=self.kwargs["pk"])
        if room is None:
            raise Http404
        return room_records_ended(room=room)

    @extend_schema(summary=_("The room's past streams with their statistics, newest first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
