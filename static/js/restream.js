// The restream page: each destination's state (connecting, live with bitrate and uptime, error with its
// reason, stopped) refreshed from the API while the page is open.
import { formatUptime } from "./room_state.js";

const POLL_MS = 3000;
const list = document.getElementById("restream-list");
const LOCALE = document.documentElement.lang || undefined;
const number = (value) => new Intl.NumberFormat(LOCALE).format(value);

function render(destination) {
  const item = list.querySelector(`[data-destination="${destination.id}"]`);
  if (!item) return;
  const state = item.querySelector('[data-field="state"]');
  state.textContent = list.dataset[`label${destination.state[0].toUpperCase()}${destination.state.slice(1)}`];
  state.className = `restream-state restream-state--${destination.state}`;
  const detail = item.querySelector('[data-field="detail"]');
  if (destination.state === "live") {
    const parts = [];
    if (destination.bitrate_kbps) parts.push(`${number(destination.bitrate_kbps)} kb/s`);
    if (destination.live_since) parts.push(formatUptime(Date.now() - Date.parse(destination.live_since)));
    detail.textContent = parts.join(" · ");
  } else {
    detail.textContent = destination.error;
  }
}

async function refresh() {
  try {
    const response = await fetch(list.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) (await response.json()).forEach(render);
  } catch {
    // Offline for a moment: the next poll catches up.
  }
}

if (list) {
  refresh();
  setInterval(refresh, POLL_MS);
}
