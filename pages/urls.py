from django.urls import path

from pages import views

urlpatterns = [
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("t/<slug:slug>/", views.tag, name="tag"),
    path("search/", views.search, name="search"),
]
