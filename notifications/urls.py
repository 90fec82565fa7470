from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("read/", views.notifications_read, name="notifications_read"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="email_unsubscribe"),
    path("email/<str:username>/", views.following_email_alerts, name="following_email_alerts"),
]
