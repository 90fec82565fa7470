from django.urls import path

from pages import embeds, views

urlpatterns = [
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("t/<slug:slug>/", views.tag, name="tag"),
    path("search/", views.search, name="search"),
    path("embed/rooms/<int:pk>/", embeds.embed_room, name="embed_room"),
    path("embed/vods/<int:pk>/", embeds.embed_vod, name="embed_vod"),
    path("embed/clips/<str:slug>/", embeds.embed_clip, name="embed_clip"),
    path("overlay/rooms/<int:pk>/chat/", embeds.overlay_chat, name="overlay_chat"),
    path("overlay/rooms/<int:pk>/danmaku/", embeds.overlay_danmaku, name="overlay_danmaku"),
    path("oembed", embeds.oembed, name="oembed"),
]
