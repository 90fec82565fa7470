"""Pages that show several apps' data together: the room page, the profile, the tag page and search
(rooms, streams, VODs and chat rights)."""

from django.http import Http404
from django.shortcuts import render

from chat.services import moderation_allowed
from clips.selectors import room_clips, user_clips
from rooms import selectors as room_selectors
from rooms.cache import anonymous_page
from rooms.pagination import paginate
from rooms.views import room_list
from streams.selectors import user_streams_past
from vod.selectors import room_vods_ready, user_vods_ready, vods_of_tag, vods_search

ROOM_PAGE_VODS = 8
TAG_PAGE_VODS = 12
SEARCH_MAX_LENGTH = 100
ROOM_PAGE_CLIPS = 8


@anonymous_page
def room_detail(request, pk: int):
    room = room_selectors.room_detail(pk=pk)
    if room is None:
        raise Http404
    context = {
        "room": room,
        "vods": room_vods_ready(room=room)[:ROOM_PAGE_VODS],
        "clips": room_clips(room=room)[:ROOM_PAGE_CLIPS],
        "can_moderate": moderation_allowed(room=room, user=request.user),
    }
    return render(request, "rooms/room_detail.html", context)


def profile(request, username: str):
    user = room_selectors.user_profile(username=username)
    if user is None:
        raise Http404
    context = {
        "profile_user": user,
        "rooms_page": paginate(request, room_selectors.rooms_of_owner(owner=user)),
        "streams_page": paginate(request, user_streams_past(user=user), param="spage"),
        "vods_page": paginate(request, user_vods_ready(user=user), param="vpage"),
        "clips_page": paginate(request, user_clips(user=user), param="cpage"),
    }
    return render(request, "accounts/profile.html", context)


@anonymous_page
def tag(request, slug: str):
    found = room_selectors.tag_by_slug(slug=slug)
    if found is None:
        raise Http404
    extra = {
        "tag": found,
        "tag_categories": room_selectors.categories_of_tag(tag=found),
        "vods": vods_of_tag(tag=found)[:TAG_PAGE_VODS],
    }
    return room_list(
        request, rooms=room_selectors.rooms_browsed(tag=found), template="rooms/tag.html", extra=extra
    )


def search(request):
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    context = {"query": query}
    if query:
        context["rooms_page"] = paginate(request, room_selectors.rooms_search(query=query))
        context["users_page"] = paginate(request, room_selectors.users_search(query=query), param="upage")
        context["vods_page"] = paginate(request, vods_search(query=query), param="vpage")
    return render(request, "rooms/search.html", context)
