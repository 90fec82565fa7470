// One source of a room's live state for every widget of a page (player, dashboard status).
// The room websocket dispatches `streamlite:room_state` on document; until the first such event
// arrives (no websocket yet, or not connected yet) the API is polled every 5 s instead.

const POLL_MS = 5000;
const watchers = new Map(); // roomId -> {listeners: Set, timer, pushed}

function normalise(detail) {
  // The websocket event says {status} (or {state}); the API room says status too.
  return { ...detail, status: detail.status ?? detail.state };
}

/** The room as the API shows it (status, viewer_count, started_at...); null when there is no such room. */
export async function fetchRoom(roomId) {
  const response = await fetch(`/api/rooms/${roomId}/`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`room ${roomId}: ${response.status}`);
  return normalise(await response.json());
}

async function poll(roomId, watcher) {
  if (watcher.pushed) return;
  try {
    const room = await fetchRoom(roomId);
    // No API (yet) or no such room: nothing to learn by asking again.
    if (room === null) return;
    watcher.listeners.forEach((listener) => listener(room));
  } catch {
    // Offline or a server restart: keep the last known state and try again on the next tick.
  }
  watcher.timer = setTimeout(() => poll(roomId, watcher), POLL_MS);
}

document.addEventListener("streamlite:room_state", (event) => {
  const detail = event.detail || {};
  const roomId = String(detail.room_id ?? detail.room ?? "");
  for (const [id, watcher] of watchers) {
    if (roomId && roomId !== id) continue;
    watcher.pushed = true;
    clearTimeout(watcher.timer);
    const state = normalise(detail);
    watcher.listeners.forEach((listener) => listener(state));
  }
});

export function watchRoomState(roomId, listener) {
  const id = String(roomId);
  let watcher = watchers.get(id);
  if (!watcher) {
    watcher = { listeners: new Set(), timer: null, pushed: false };
    watchers.set(id, watcher);
    // The page was rendered with the current state: the first question can wait one interval.
    watcher.timer = setTimeout(() => poll(id, watcher), POLL_MS);
  }
  watcher.listeners.add(listener);
}

export function formatUptime(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h ? `${h}:${mmss}` : mmss;
}
