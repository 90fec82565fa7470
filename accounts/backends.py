"""django-axes' lockout in front of the model backend, for log-ins that come with a request (pages, admin,
the token API). A call without one (management commands, the test client's login) has no address or
request to lock and falls through to the model backend."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
