from django.urls import path

from schedule import views

urlpatterns = [
    path("u/<str:username>/schedule.ics", views.schedule_ics, name="schedule_ics"),
    path("schedule/<int:pk>/remind/", views.reminder_toggle, name="schedule_remind"),
    path("dashboard/schedule/", views.schedule_page, name="schedule_dashboard"),
    path("dashboard/schedule/<int:pk>/delete/", views.scheduled_stream_delete_view, name="schedule_delete"),
]
