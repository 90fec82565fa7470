// The room heading's LIVE/Offline badge and viewers sentence (templates/rooms/room_detail.html), kept
// current by the room websocket's room_state and viewers events: the stylesheet shows one badge or the
// other from data-live, so a stream that starts or ends after the page opened shows as it is.
import { watchRoomState } from "./room_state.js";

// The page's language (Django's), so the count is written as the sentence around it expects.
const LOCALE = document.documentElement.lang || undefined;

function viewersSentence(count) {
  const shown = new Intl.NumberFormat(LOCALE).format(count);
  return interpolate(ngettext("%(count)s viewer", "%(count)s viewers", count), { count: shown }, true);
}

document.querySelectorAll("[data-room-status]").forEach((status) => {
  const roomId = status.dataset.roomStatus;
  const viewers = status.querySelector("[data-room-viewers]");
  watchRoomState(roomId, (state) => {
    if (state.status === "live" || state.status === "idle") status.dataset.live = String(state.status === "live");
    if (typeof state.viewer_count === "number" && viewers) viewers.textContent = viewersSentence(state.viewer_count);
  });
  document.addEventListener("streamlite:viewers", (event) => {
    const { room_id: eventRoom, count } = event.detail || {};
    if (String(eventRoom) === roomId && viewers && typeof count === "number") {
      viewers.textContent = viewersSentence(count);
    }
  });
});
