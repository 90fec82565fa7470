from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 24


def paginate(request: HttpRequest, queryset: QuerySet, *, param: str = "page") -> Page:
    """One page of a list; a missing, malformed or too large page number falls back to a valid page."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))
