// The navigation bar's unread badge and the toasts of /ws/notifications/ (DESIGN §3 Websockets).
// The socket sends {"type":"unread","count":n} on connect and after every change, and
// {"type":"notification", ...API item} when something new arrives. Text goes in as text, never HTML.

const CLOSE_UNAUTHENTICATED = 4401;
const TOAST_MS = 8000;
const MAX_RETRY_MS = 30000;

const bell = document.querySelector("[data-notification-bell]");

function setUnread(count) {
  if (!bell) return;
  const badge = bell.querySelector("[data-unread-badge]");
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.hidden = count <= 0;
  const label =
    count > 0
      ? interpolate(ngettext("Notifications (%(count)s unread)", "Notifications (%(count)s unread)", count), { count }, true)
      : gettext("Notifications");
  bell.setAttribute("aria-label", label);
}

// The stored sentence was written in the sender's language: say it again in the reader's, by kind
// (gettext/interpolate: Django's JavaScript catalogue). The notifications page does the same on the server.
const MESSAGES = {
  live_started: ({ actor, room }) =>
    interpolate(gettext("%(name)s is live: %(title)s"), { name: shownName(actor), title: room.title }, true),
  new_vod: ({ actor, vod }) =>
    interpolate(gettext("New video from %(name)s: %(title)s"), { name: shownName(actor), title: vod.title }, true),
  new_follower: ({ actor }) => interpolate(gettext("%(name)s followed you."), { name: shownName(actor) }, true),
};

function shownName(person) {
  return person.display_name || person.username;
}

function messageOf(item) {
  const say = MESSAGES[item.kind];
  try {
    return say ? say(item) : item.message;
  } catch {
    return item.message; // an actor, room or VOD missing from the event: the stored sentence still reads
  }
}

function linkOf(item) {
  if (item.vod) return `/vods/${item.vod.id}/`;
  if (item.room) return `/rooms/${item.room.id}/`;
  if (item.actor) return `/u/${encodeURIComponent(item.actor.username)}/`;
  return "/notifications/";
}

function toastArea() {
  let area = document.querySelector(".toasts");
  if (!area) {
    area = Object.assign(document.createElement("div"), { className: "toasts" });
    area.setAttribute("role", "status");
    area.setAttribute("aria-live", "polite");
    document.body.append(area);
  }
  return area;
}

function showToast(item) {
  const toast = Object.assign(document.createElement("a"), {
    className: `toast toast--${item.kind}`,
    href: linkOf(item),
    textContent: messageOf(item),
  });
  toastArea().append(toast);
  setTimeout(() => toast.remove(), TOAST_MS);
  document.dispatchEvent(new CustomEvent("streamlite:notification", { detail: item }));
}

function connect(retryMs = 1000) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/notifications/`);
  socket.addEventListener("open", () => {
    retryMs = 1000;
  });
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === "unread") setUnread(frame.count);
    else if (frame.type === "notification") showToast(frame);
  });
  socket.addEventListener("close", (event) => {
    if (event.code === CLOSE_UNAUTHENTICATED) return;
    // Server restarts and network changes: come back, backing off so a down server is not hammered.
    setTimeout(() => connect(Math.min(retryMs * 2, MAX_RETRY_MS)), retryMs);
  });
}

if (bell) connect();
