from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from django.contrib import admin
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

        from accounts import signals  # noqa: F401  (connects the activity log receivers)

        # The JWT blacklist's own tables are bookkeeping for logout, nothing staff should read or edit.
        # The admin app's ready() has registered them by now (it comes first in INSTALLED_APPS).
        for model in (OutstandingToken, BlacklistedToken):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
