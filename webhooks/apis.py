"""The webhooks API (DESIGN §3): an owner's endpoints, their delivery log and the test button."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from rooms.models import Room
from webhooks import selectors, services
from webhooks.models import Delivery, Endpoint, Event


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))
    room = serializers.IntegerField(source="room_id", allow_null=True)
    site_wide = serializers.BooleanField()
    active = serializers.BooleanField()
    consecutive_failures = serializers.IntegerField()
    disabled_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text=_("Signs every delivery; shown only in this answer."))


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=Endpoint._meta.get_field("url").max_length)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), allow_empty=False, max_length=len(Event.choices)
    )
    room = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text=_("Only this room's events (one of yours); none: all your rooms."),
    )
    site_wide = serializers.BooleanField(
        required=False, default=False, help_text=_("Every room's events (staff only).")
    )


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


def _endpoint_or_404(request, pk: int) -> Endpoint:
    endpoint = selectors.endpoint_visible(user=request.user, pk=pk)
    if endpoint is None:
        raise Http404
    return endpoint


class EndpointListCreateApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = EndpointOutputSerializer

    def get_queryset(self):
        return selectors.endpoints_visible(user=self.request.user)

    @extend_schema(summary=_("Your webhook endpoints (and the site's, for staff)"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=EndpointInputSerializer,
        responses={201: EndpointCreatedSerializer},
        summary=_("Register a webhook endpoint; the answer shows its secret once"),
    )
    def post(self, request):
        data = EndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = None
        if data.validated_data.get("room") is not None:
            room = Room.objects.filter(pk=data.validated_data["room"]).first()
            if room is None:
                raise serializers.ValidationError({"room": [_("You can only choose your own room.")]})
        endpoint = services.endpoint_create(
            owner=request.user,
            url=data.validated_data["url"],
            events=data.validated_data["events"],
            room=room,
            site_wide=data.validated_data["site_wide"],
        )
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: OpenApiResponse(description=_("Deleted, with its delivery log."))},
        summary=_("Delete a webhook endpoint"),
    )
    def delete(self, request, pk: int):
        services.endpoint_delete(endpoint=_endpoint_or_404(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointTestApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={202: DeliveryOutputSerializer},
        summary=_("Send a test event to the endpoint (a success turns a disabled endpoint back on)"),
    )
    def post(self, request, pk: int):
        delivery = services.webhook_test_send(endpoint=_endpoint_or_404(request, pk))
        delivery.refresh_from_db()
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = DeliveryOutputSerializer

    def get_queryset(self):
        return selectors.deliveries_of(endpoint=_endpoint_or_404(self.request, self.kwargs["pk"]))

    @extend_schema(summary=_("The endpoint's delivery log, newest first"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
