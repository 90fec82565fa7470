from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.selectors import notifications_of
from notifications.serializers import NotificationOutputSerializer
from notifications.services import notifications_mark_read

# Postgres bigint: a larger id cannot exist, and sending it to the database would be an error, not a miss.
MAX_ID = 2**63 - 1


class NotificationListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = NotificationOutputSerializer

    def get_queryset(self):
        return notifications_of(user=self.request.user)

    @extend_schema(summary=_("Your notifications, newest first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    class NotificationReadInputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            required=False,
            max_length=1000,
            help_text=_("The notifications to mark read; leave out to mark all read."),
        )

    @extend_schema(
        request=NotificationReadInputSerializer,
        responses=inline_serializer("NotificationReadOutput", {"marked": serializers.IntegerField()}),
        summary=_("Mark notifications read"),
    )
    def post(self, request):
        data = self.NotificationReadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = notifications_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked})
