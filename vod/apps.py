from django.apps import AppConfig


class VodConfig(AppConfig):
    name = "vod"
