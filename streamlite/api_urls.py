from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from accounts import apis as account_apis
from chat import apis as chat_apis
from clips import apis as clip_apis
from notifications import apis as notification_apis
from relay import apis as relay_apis
from rooms import apis as room_apis
from schedule import apis as schedule_apis
from streams import apis as stream_apis
from vod import apis as vod_apis
from webhooks import apis as webhook_apis

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
    path("rooms/<int:pk>/schedule/", schedule_apis.RoomScheduleApi.as_view(), name="api-room-schedule"),
    path("schedule/<int:pk>/", schedule_apis.ScheduledStreamDetailApi.as_view(), name="api-scheduled-stream"),
    path("schedule/<int:pk>/remind/", schedule_apis.ReminderApi.as_view(), name="api-schedule-remind"),
    re_path(rf"^users/{USERNAME}/$", room_apis.UserProfileApi.as_view(), name="api-user"),
    re_path(rf"^users/{USERNAME}/follow/$", room_apis.FollowApi.as_view(), name="api-follow"),
    path("notifications/", notification_apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/read/", notification_apis.NotificationReadApi.as_view(), name="api-notifications-read"
    ),
    path("vods/", vod_apis.VodListApi.as_view(), name="api-vods"),
    path("vods/<int:pk>/", vod_apis.VodDetailApi.as_view(), name="api-vod"),
    path("vods/<int:pk>/retry/", vod_apis.VodRetryApi.as_view(), name="api-vod-retry"),
    path("vods/<int:pk>/view/", vod_apis.VodViewApi.as_view(), name="api-vod-view"),
    path("vods/<int:pk>/danmaku/", vod_apis.VodDanmakuApi.as_view(), name="api-vod-danmaku"),
    path("vods/<int:pk>/chat/", vod_apis.VodChatApi.as_view(), name="api-vod-chat"),
    path(
        "vods/<int:pk>/danmaku/density/",
        vod_apis.VodDanmakuDensityApi.as_view(),
        name="api-vod-danmaku-density",
    ),
    path("rooms/<int:pk>/clips/", clip_apis.RoomClipCreateApi.as_view(), name="api-room-clips"),
    path("vods/<int:pk>/clips/", clip_apis.VodClipCreateApi.as_view(), name="api-vod-clips"),
    path("clips/", clip_apis.ClipListApi.as_view(), name="api-clips"),
    path("clips/<str:slug>/", clip_apis.ClipDetailApi.as_view(), name="api-clip"),
    path("clips/<str:slug>/view/", clip_apis.ClipViewApi.as_view(), name="api-clip-view"),
    path("clips/<str:slug>/danmaku/", clip_apis.ClipDanmakuApi.as_view(), name="api-clip-danmaku"),
    path("rooms/<int:pk>/messages/", chat_apis.MessageHistoryApi.as_view(), name="api-room-messages"),
    path("rooms/<int:pk>/viewers/", chat_apis.ViewerListApi.as_view(), name="api-room-viewers"),
    path(
        "rooms/<int:pk>/moderation/delete/",
        chat_apis.MessageDeleteApi.as_view(),
        name="api-moderation-delete",
    ),
    path("emotes/", chat_apis.SiteEmoteListApi.as_view(), name="api-emotes"),
    path("rooms/<int:pk>/emotes/", chat_apis.RoomEmoteListApi.as_view(), name="api-room-emotes"),
    path(
        "rooms/<int:pk>/emotes/<int:emote_id>/",
        chat_apis.RoomEmoteDetailApi.as_view(),
        name="api-room-emote",
    ),
    path("rooms/<int:pk>/moderation/pin/", chat_apis.PinApi.as_view(), name="api-moderation-pin"),
    path(
        "rooms/<int:pk>/moderation/highlight/",
        chat_apis.HighlightApi.as_view(),
        name="api-moderation-highlight",
    ),
    path("rooms/<int:pk>/moderation/timeout/", chat_apis.TimeoutApi.as_view(), name="api-moderation-timeout"),
    path("rooms/<int:pk>/moderation/ban/", chat_apis.BanApi.as_view(), name="api-moderation-ban"),
    re_path(
        rf"^rooms/(?P<pk>[0-9]+)/moderation/ban/{USERNAME}/$",
        chat_apis.BanLiftApi.as_view(),
        name="api-moderation-unban",
    ),
    path("rooms/<int:pk>/chat-settings/", chat_apis.ChatSettingsApi.as_view(), name="api-chat-settings"),
    re_path(
        rf"^rooms/(?P<pk>[0-9]+)/moderators/{USERNAME}/$",
        chat_apis.ModeratorApi.as_view(),
        name="api-moderator",
    ),
    path("webhooks/", webhook_apis.EndpointListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", webhook_apis.EndpointDetailApi.as_view(), name="api-webhook"),
    path("webhooks/<int:pk>/test/", webhook_apis.EndpointTestApi.as_view(), name="api-webhook-test"),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhook_apis.DeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "rooms/<int:pk>/destinations/", relay_apis.RoomDestinationsApi.as_view(), name="api-room-destinations"
    ),
    path("destinations/<int:pk>/", relay_apis.DestinationDetailApi.as_view(), name="api-destination"),
    path("rooms/<int:pk>/playouts/", relay_apis.RoomPlayoutsApi.as_view(), name="api-room-playouts"),
    path("playouts/<int:pk>/", relay_apis.PlayoutDetailApi.as_view(), name="api-playout"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the page runs under the site's CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", not_found),
]
