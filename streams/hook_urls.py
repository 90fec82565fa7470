from django.urls import path

from streams import hooks

app_name = "rtmp_hooks"
urlpatterns = [
    path("publish", hooks.rtmp_publish, name="publish"),
    path("publish_done", hooks.rtmp_publish_done, name="publish_done"),
    path("update", hooks.rtmp_update, name="update"),
    path("record_done", hooks.rtmp_record_done, name="record_done"),
]
