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
  bell.setAttribute("aria-label", count > 0 ? `${bell.dataset.label} (${count})` : bell.dataset.label);
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
    textContent: item.message,
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
