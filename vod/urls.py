from django.urls import path

from vod import views

urlpatterns = [
    path("<int:pk>/", views.vod_detail, name="vod_detail"),
    path("<int:pk>/edit/", views.vod_edit, name="vod_edit"),
    path("<int:pk>/playlist.m3u8", views.vod_playlist, name="vod_playlist"),
    path("<int:pk>/playlist/<slug:name>.m3u8", views.vod_rung_playlist, name="vod_rung_playlist"),
]
