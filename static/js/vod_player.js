// The VOD page: hls.js playback of the Django-served playlist, danmaku replayed over the video at the
// moment they were sent (fetched window by window from the API as playback advances), a heatmap of the
// comments in the seek bar, and one view counted when playback starts.
import { bindDanmakuControls, DanmakuLayer, DanmakuSettings } from "./danmaku.js";
import { emoteMapLoad } from "./emotes.js";
import { PlayerControls } from "./player_controls.js";
import { QualityMenu } from "./quality_menu.js";

const WINDOW_MS = 30_000;
const TICK_MS = 200;
// A jump larger than this between two ticks is a seek: what was on screen no longer belongs there.
const SEEK_JUMP_MS = 1_500;
const HEATMAP_BUCKETS = 100;
const HLS_TYPE = "application/vnd.apple.mpegurl";

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// Keeps the danmaku of the windows around the playhead and hands the layer those whose time has come.
class DanmakuReplay {
  constructor(url, layer) {
    this.url = url;
    this.layer = layer;
    this.windows = new Map(); // window index -> events (sorted by vpos_ms) once loaded
    this.lastMs = null;
  }

  load(index) {
    if (index < 0 || this.windows.has(index)) return;
    this.windows.set(index, null);
    const from = index * WINDOW_MS;
    getJson(`${this.url}?from_ms=${from}&to_ms=${from + WINDOW_MS}`)
      .then((body) => this.windows.set(index, body.results))
      .catch(() => this.windows.delete(index)); // asked again on a later tick
  }

  seek() {
    this.layer.clear();
    this.lastMs = null;
  }

  tick(nowMs) {
    const index = Math.floor(nowMs / WINDOW_MS);
    this.load(index);
    this.load(index + 1); // the next one arrives before the playhead does
    if (this.lastMs === null || nowMs < this.lastMs || nowMs - this.lastMs > SEEK_JUMP_MS) {
      if (this.lastMs !== null) this.layer.clear();
      this.lastMs = nowMs - TICK_MS;
    }
    for (let i = Math.floor(Math.max(0, this.lastMs) / WINDOW_MS); i <= index; i++) {
      for (const event of this.windows.get(i) || []) {
        if (event.vpos_ms > this.lastMs && event.vpos_ms <= nowMs) this.layer.add({ type: "danmaku", ...event });
      }
    }
    this.lastMs = nowMs;
  }
}

class VodPlayer {
  constructor(root) {
    this.root = root;
    this.video = root.querySelector("video");
    this.viewCounted = false;
    this.controls = new PlayerControls(root.querySelector("[data-player-box]"), this.video);
    this.attach();
    this.video.addEventListener("playing", () => this.countView());
    // A shared link may name a moment: ?t=<seconds>.
    const start = Number(new URLSearchParams(location.search).get("t"));
    if (start > 0) this.video.addEventListener("loadedmetadata", () => (this.video.currentTime = start), { once: true });
    // Embeds show danmaku only when asked to (no danmaku URL otherwise); clips have no heatmap.
    if (root.dataset.danmakuUrl) this.startReplay(root);
    if (root.dataset.densityUrl) {
      getJson(`${root.dataset.densityUrl}?buckets=${HEATMAP_BUCKETS}`)
        .then((density) => this.controls.drawHeatmap(density))
        .catch(() => root.querySelector("[data-heatmap]")?.remove());
    } else {
      root.querySelector("[data-heatmap]")?.remove();
    }
  }

  startReplay(root) {
    // The same layer and viewer settings as the live room (static/js/danmaku.js).
    const settings = new DanmakuSettings();
    // The emotes the room and the site have now: a comment naming one shows it, as it did live.
    this.emotes = new Map();
    emoteMapLoad(this.emotes, (root.dataset.emoteUrls || "").split(" ").filter(Boolean));
    const layer = new DanmakuLayer(this.video.parentElement, { settings, emotes: this.emotes });
    this.replay = new DanmakuReplay(root.dataset.danmakuUrl, layer);
    this.bindControls(root.querySelector(".danmaku-controls"), settings);
    // Comments on screen freeze with the picture and go on with it.
    this.video.addEventListener("pause", () => layer.setPaused(true));
    this.video.addEventListener("play", () => layer.setPaused(false));
    this.video.addEventListener("seeking", () => this.replay.seek());
    setInterval(() => {
      if (!this.video.paused) this.replay.tick(this.video.currentTime * 1000);
    }, TICK_MS);
  }

  bindControls(controls, settings) {
    const toggle = controls.querySelector(".danmaku-controls__toggle");
    const panel = controls.querySelector(".danmaku-controls__panel");
    toggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    });
    bindDanmakuControls(panel, settings);
  }

  attach() {
    const url = this.root.dataset.hlsUrl;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      const hls = new Hls();
      this.quality = new QualityMenu(this.root.querySelector("[data-player-box]"), hls, Hls);
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal && data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else if (data.fatal && data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType(HLS_TYPE)) {
      this.video.src = url;
    }
  }

  countView() {
    if (this.viewCounted) return;
    this.viewCounted = true;
    fetch(this.root.dataset.viewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    }).catch(() => {
      this.viewCounted = false;
    });
  }
}

document.querySelectorAll("[data-vod-id]").forEach((root) => new VodPlayer(root));
