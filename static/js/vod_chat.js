// Chat replay beside the VOD, like the live chat it was: each archived chat message appears at the
// moment of the stream it was sent in, read window by window from the VOD's chat API as the video plays;
// a seek shows the messages just before the new moment instead.
const WINDOW_MS = 30_000;
const TICK_MS = 250;
const LIST_LIMIT = 200;
// After a seek, the list starts this many windows before the playhead so it is not empty.
const HISTORY_WINDOWS = 1;

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function offsetLabel(ms) {
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

class ChatReplay {
  constructor(panel, video) {
    this.panel = panel;
    this.video = video;
    this.url = panel.dataset.chatUrl;
    this.list = panel.querySelector("[data-vod-chat-list]");
    this.empty = panel.querySelector("[data-vod-chat-empty]");
    this.windows = new Map(); // window index -> messages (by vpos_ms) once loaded, null while loading
    this.shownUpToMs = null; // messages with vpos_ms up to this are in the list
    this.rebuild = true;
    video.addEventListener("seeking", () => (this.rebuild = true));
    setInterval(() => this.tick(video.currentTime * 1000), TICK_MS);
  }

  load(index) {
    if (index < 0 || this.windows.has(index)) return;
    this.windows.set(index, null);
    const from = index * WINDOW_MS;
    getJson(`${this.url}?from_ms=${from}&to_ms=${from + WINDOW_MS}`)
      .then((body) => this.windows.set(index, body.results))
      .catch(() => this.windows.delete(index)); // asked again on a later tick
  }

  tick(nowMs) {
    const index = Math.floor(nowMs / WINDOW_MS);
    for (let i = index - HISTORY_WINDOWS; i <= index + 1; i++) this.load(i);
    if (this.rebuild || this.shownUpToMs === null || nowMs < this.shownUpToMs) {
      this.rebuild = false;
      this.list.replaceChildren();
      this.shownUpToMs = Math.max(0, (index - HISTORY_WINDOWS) * WINDOW_MS) - 1;
    }
    const first = Math.floor(Math.max(0, this.shownUpToMs) / WINDOW_MS);
    // Messages are shown in order: wait until every window up to the playhead has arrived.
    for (let i = first; i <= index; i++) if (!Array.isArray(this.windows.get(i))) return;
    const due = [];
    for (let i = first; i <= index; i++) {
      for (const message of this.windows.get(i)) {
        if (message.vpos_ms > this.shownUpToMs && message.vpos_ms <= nowMs) due.push(message);
      }
    }
    this.shownUpToMs = nowMs;
    if (due.length) this.append(due);
    this.empty.hidden = this.list.children.length > 0;
  }

  append(messages) {
    const atEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(...messages.map((message) => this.item(message)));
    while (this.list.children.length > LIST_LIMIT) this.list.firstElementChild.remove();
    if (atEnd) this.list.scrollTop = this.list.scrollHeight;
  }

  item({ id, user, text, vpos_ms: vposMs }) {
    const item = document.createElement("li");
    item.className = "chat__msg";
    item.dataset.id = String(id);
    item.dataset.vposMs = String(vposMs);
    // The moment in the video, a button that jumps there.
    const time = document.createElement("button");
    time.type = "button";
    time.className = "chat__time vod-chat__time";
    time.textContent = offsetLabel(vposMs);
    time.addEventListener("click", () => (this.video.currentTime = vposMs / 1000));
    const name = document.createElement("span");
    name.className = "chat__user";
    name.textContent = user?.display_name || user?.username || "";
    if (user?.username) name.title = `@${user.username}`;
    const body = document.createElement("span");
    body.className = "chat__text";
    body.textContent = text;
    item.append(time, " ", name, " ", body);
    return item;
  }
}

const panel = document.querySelector("[data-vod-chat]");
const video = document.querySelector("[data-vod-id] video");
if (panel && video) new ChatReplay(panel, video);
