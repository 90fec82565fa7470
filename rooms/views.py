from django.http import Http404
from django.shortcuts import render

from rooms import selectors
from rooms.cache import anonymous_page
from rooms.pagination import paginate


def room_list(request, *, rooms, template: str, extra: dict | None = None):
    """A page of rooms split into its live and other ones (home, category and tag pages)."""
    page = paginate(request, rooms)
    # Rooms arrive live first, so splitting one page keeps the order while giving each part a heading.
    context = {
        "page_obj": page,
        "live_rooms": [room for room in page if room.is_live],
        "other_rooms": [room for room in page if not room.is_live],
        **(extra or {}),
    }
    return render(request, template, context)


@anonymous_page
def home(request):
    return room_list(request, rooms=selectors.rooms_browsed(), template="rooms/home.html")


@anonymous_page
def category(request, slug: str):
    found = selectors.category_by_slug(slug=slug)
    if found is None:
        raise Http404
    return room_list(
        request,
        rooms=selectors.rooms_browsed(category=found),
        template="rooms/category.html",
        extra={"category": found},
    )
