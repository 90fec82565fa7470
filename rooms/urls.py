from django.urls import path

from accounts.views import profile
from rooms import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.category, name="category"),
    path("search/", views.search, name="search"),
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("u/<str:username>/", profile, name="profile"),
]
