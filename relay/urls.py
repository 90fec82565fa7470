from django.urls import path

from relay import views

urlpatterns = [
    path("", views.restream_page, name="restream"),
    path("<int:pk>/toggle/", views.destination_toggle_view, name="restream_toggle"),
    path("<int:pk>/delete/", views.destination_delete_view, name="restream_delete"),
    path("playout/", views.playout_page, name="playout"),
    path("playout/<int:pk>/cancel/", views.playout_cancel_view, name="playout_cancel"),
]
