from django.conf import settings


def navigation(request):
    return {"hls_public_url": settings.HLS_PUBLIC_URL}
