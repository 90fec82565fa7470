"""The dashboard's webhooks page: register, test and delete endpoints, and read their delivery log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webhooks import selectors, services
from webhooks.forms import EndpointForm

DELIVERIES_SHOWN = 20


def _endpoint_or_404(request, pk: int):
    endpoint = selectors.endpoint_visible(user=request.user, pk=pk)
    if endpoint is None:
        raise Http404
    return endpoint


@login_required
def webhooks_page(request):
    created = None
    form = EndpointForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.endpoint_create(
                owner=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                room=form.cleaned_data["room"],
                site_wide=form.cleaned_data.get("site_wide", False),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = EndpointForm(user=request.user)
    endpoints = selectors.endpoints_visible(user=request.user).select_related("room")
    # The secret is shown in the answer to the creating request only: it is never put in a link or session.
    return render(request, "webhooks/index.html", {"form": form, "endpoints": endpoints, "created": created})


@login_required
def webhook_deliveries_page(request, pk: int):
    endpoint = _endpoint_or_404(request, pk)
    deliveries = selectors.deliveries_of(endpoint=endpoint)[:DELIVERIES_SHOWN]
    return render(request, "webhooks/deliveries.html", {"endpoint": endpoint, "deliveries": deliveries})


@require_POST
@login_required
def webhook_test_view(request, pk: int):
    services.webhook_test_send(endpoint=_endpoint_or_404(request, pk))
    messages.success(request, _("A test event is on its way; its result shows in the delivery log."))
    return redirect("webhook_deliveries", pk=pk)


@require_POST
@login_required
def webhook_delete_view(request, pk: int):
    services.endpoint_delete(endpoint=_endpoint_or_404(request, pk))
    messages.success(request, _("The webhook was deleted."))
    return redirect("webhooks")
