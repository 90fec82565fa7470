from django.apps import AppConfig


class VodConfig(AppConfig):
    name = "vod"

    def ready(self):
        from streams.signals import recording_done
        from vod import receivers

        recording_done.connect(receivers.on_recording_done, dispatch_uid="vod-process-recording")
