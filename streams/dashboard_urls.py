from django.urls import path

from streams import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("room/create/", views.room_create_view, name="dashboard_room_create"),
    path("room/edit/", views.room_edit_view, name="dashboard_room_edit"),
    path("key/reset/", views.stream_key_reset_view, name="dashboard_key_reset"),
    path("apply/", views.streamer_apply_view, name="dashboard_apply"),
    path("streams/<int:pk>/viewers/", views.stream_viewers_view, name="dashboard_stream_viewers"),
]
