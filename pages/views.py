"""The room page and the profile page: each shows rooms, streams, VODs and chat rights together."""

from django.http import Http404
from django.shortcuts import render

from chat.services import moderation_allowed
from clips.selectors import room_clips, user_clips
from rooms import selectors as room_selectors
from rooms.cache import anonymous_page
from rooms.pagination import paginate
from streams.selectors import user_streams_past
from vod.selectors import room_vods_ready, user_vods_ready

ROOM_PAGE_VODS = 8
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
