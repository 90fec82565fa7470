from django.urls import path

from streams import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("status/", views.dashboard_status_view, name="dashboard_status"),
    path("room/create/", views.room_create_view, name="dashboard_room_create"),
    path("room/edit/", views.room_edit_view, name="dashboard_room_edit"),
    path("key/reset/", views.stream_key_reset_view, name="dashboard_key_reset"),
    path("apply/", views.streamer_apply_view, name="dashboard_apply"),
    path("chat-settings/", views.chat_settings_view, name="dashboard_chat_settings"),
    path("moderators/add/", views.moderator_add_view, name="dashboard_moderator_add"),
    path("moderators/<str:username>/remove/", views.moderator_remove_view, name="dashboard_moderator_remove"),
    path("bans/<str:username>/lift/", views.chat_ban_lift_view, name="dashboard_chat_ban_lift"),
    path("emotes/add/", views.emote_add_view, name="dashboard_emote_add"),
    path("emotes/<int:pk>/delete/", views.emote_delete_view, name="dashboard_emote_delete"),
    path("streams/<int:pk>/viewers/", views.stream_viewers_view, name="dashboard_stream_viewers"),
]
