// OBS overlays and live embeds with danmaku: the room's chat or danmaku from the room websocket, drawn
// on a transparent page. Options come from the page (font size in px, seconds before a chat line fades).
import { DanmakuLayer, DanmakuSettings } from "./danmaku.js";
import { RoomSocket } from "./room_socket.js";

const CHAT_LINES_MAX = 50;
const FADE_MS = 600;

function chatLine(event) {
  const line = document.createElement("p");
  line.className = "overlay-chat__line";
  const name = document.createElement("strong");
  name.className = "overlay-chat__name";
  name.textContent = event.user?.display_name || event.user?.username || "";
  const text = document.createElement("span");
  text.textContent = ` ${event.text}`;
  line.append(name, text);
  if (event.id != null) line.dataset.id = String(event.id);
  return line;
}

function startChat(root, socket) {
  const fadeMs = Number(root.dataset.fadeS || 0) * 1000;
  socket.addEventListener("chat", ({ detail }) => {
    const line = chatLine(detail);
    root.append(line);
    while (root.children.length > CHAT_LINES_MAX) root.firstElementChild.remove();
    if (fadeMs > 0) {
      setTimeout(() => {
        line.classList.add("overlay-chat__line--fading");
        setTimeout(() => line.remove(), FADE_MS);
      }, fadeMs);
    }
  });
  socket.addEventListener("delete", ({ detail }) => {
    root.querySelector(`[data-id="${CSS.escape(String(detail.id))}"]`)?.remove();
  });
}

function startDanmaku(root, socket) {
  // Settings of their own: a streamer's choices on the site must not change what OBS shows.
  const settings = new DanmakuSettings("streamlite.overlay.danmaku");
  const layer = new DanmakuLayer(root, { settings });
  socket.addEventListener("danmaku", (event) => {
    if (!event.backlog) layer.add(event.detail);
  });
}

document.querySelectorAll("[data-overlay]").forEach((root) => {
  if (root.dataset.fontPx) root.style.fontSize = `${Number(root.dataset.fontPx)}px`;
  const socket = new RoomSocket(root.dataset.roomId);
  if (root.dataset.overlay === "chat") startChat(root, socket);
  else startDanmaku(root, socket);
});
