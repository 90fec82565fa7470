from django.urls import path

from clips import views

urlpatterns = [
    path("<str:slug>/", views.clip_detail, name="clip_detail"),
    path("<str:slug>/playlist.m3u8", views.clip_playlist, name="clip_playlist"),
]
