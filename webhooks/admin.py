from django.contrib import admin

from webhooks.models import Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "owner", "room", "site_wide", "active", "consecutive_failures", "created_at")
    list_filter = ("active", "site_wide")
    raw_id_fields = ("owner", "room")
    list_select_related = ("owner", "room")
    # The secret signs deliveries: staff have no reason to read it.
    exclude = ("secret",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "status_code", "created_at", "delivered_at")
    list_filter = ("status", "event")
    raw_id_fields = ("endpoint",)
    list_select_related = ("endpoint",)
