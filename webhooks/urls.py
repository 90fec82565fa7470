from django.urls import path

from webhooks import views

urlpatterns = [
    path("", views.webhooks_page, name="webhooks"),
    path("<int:pk>/", views.webhook_deliveries_page, name="webhook_deliveries"),
    path("<int:pk>/test/", views.webhook_test_view, name="webhook_test"),
    path("<int:pk>/delete/", views.webhook_delete_view, name="webhook_delete"),
]
