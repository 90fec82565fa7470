from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from accounts import apis as account_apis
from notifications import apis as notification_apis
from rooms import apis as room_apis
from streams import apis as stream_apis

# The characters Django's username validator allows: anything else cannot name a user.
USERNAME = r"(?P<username>[\w.@+-]+)"


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    """Unknown API paths answer in the API's error shape rather than with an HTML page."""
    raise NotFound


urlpatterns = [
    path("auth/register/", account_apis.RegisterApi.as_view(), name="api-register"),
    path("auth/token/", account_apis.TokenObtainApi.as_view(), name="api-token"),
    path("auth/token/refresh/", account_apis.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("auth/logout/", account_apis.LogoutApi.as_view(), name="api-logout"),
    path("me/", account_apis.MeApi.as_view(), name="api-me"),
    path("rooms/", room_apis.RoomListCreateApi.as_view(), name="api-rooms"),
    path("rooms/<int:pk>/", room_apis.RoomDetailApi.as_view(), name="api-room"),
    path("rooms/<int:pk>/stream-key/", room_apis.StreamKeyApi.as_view(), name="api-stream-key"),
    path(
        "rooms/<int:pk>/stream-key/reset/", room_apis.StreamKeyResetApi.as_view(), name="api-stream-key-reset"
    ),
    path("rooms/<int:pk>/records/", stream_apis.RoomRecordListApi.as_view(), name="api-room-records"),
    re_path(rf"^users/{USERNAME}/$", account_apis.UserProfileApi.as_view(), name="api-user"),
    re_path(rf"^users/{USERNAME}/follow/$", room_apis.FollowApi.as_view(), name="api-follow"),
    path("notifications/", notification_apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/read/", notification_apis.NotificationReadApi.as_view(), name="api-notifications-read"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", not_found),
]
