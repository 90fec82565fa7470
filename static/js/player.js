// The live player of room pages and the dashboard preview: hls.js (static/vendor/hls.min.js, loaded
// before this module) with low-latency settings, Safari's native HLS otherwise.
import { PlayerControls } from "./player_controls.js";
import { QualityMenu } from "./quality_menu.js";
import { fetchRoom, formatUptime, watchRoomState } from "./room_state.js";

const RETRY_MS = 2000;
const HLS_TYPE = "application/vnd.apple.mpegurl";
// Measured with 1 s fragments from nginx-rtmp: hls.js defaults gave 3.7 s glass-to-glass, a 1 s
// sync target about 1.9 s. Catching up at 1.5x keeps latency low without audible pitch jumps.
const HLS_CONFIG = {
  lowLatencyMode: true,
  liveSyncDuration: 1,
  liveMaxLatencyDuration: 3,
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 30,
};

class LivePlayer {
  constructor(root) {
    this.root = root;
    this.video = root.querySelector("video");
    this.uptime = root.querySelector("[data-player-uptime]");
    this.controls = new PlayerControls(root, this.video);
    this.hls = null;
    this.retryTimer = null;
    this.playing = false;
    this.url = root.dataset.hlsUrl || "";
    this.startedAt = root.dataset.startedAt ? new Date(root.dataset.startedAt) : null;

    setInterval(() => this.tick(), 1000);

    if (root.dataset.live === "true" && this.url) this.start();
    else this.showOffline();
    this.tick();
    if (root.dataset.roomId) watchRoomState(root.dataset.roomId, (state) => this.onState(state));
  }

  onState(state) {
    if (state.status === "live") {
      if (state.hls_url) this.url = state.hls_url;
      if (state.started_at) this.startedAt = new Date(state.started_at);
      else if (!this.startedAt) this.learnStartedAt();
      if (!this.playing && this.url) this.start();
    } else if (state.status === "idle") {
      this.startedAt = null;
      this.stop();
      this.showOffline();
    }
  }

  async learnStartedAt() {
    // The websocket's room_state says only "live": count from now until the API tells the real start.
    this.startedAt = new Date();
    try {
      const room = await fetchRoom(this.root.dataset.roomId);
      if (room?.started_at) this.startedAt = new Date(room.started_at);
    } catch {
      // The approximate start stays; the uptime still ticks.
    }
  }

  start() {
    this.stop();
    this.playing = true;
    this.root.dataset.live = "true"; // the stylesheet swaps the offline card for the video
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      this.hls = new Hls(HLS_CONFIG);
      this.quality = new QualityMenu(this.root, this.hls, Hls);
      this.hls.on(Hls.Events.MANIFEST_PARSED, () => this.play());
      this.hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(Hls, data));
      this.hls.loadSource(this.url);
      this.hls.attachMedia(this.video);
    } else if (this.video.canPlayType(HLS_TYPE)) {
      this.video.src = this.url;
      this.video.addEventListener("loadedmetadata", () => this.play(), { once: true });
      this.video.addEventListener("error", () => this.retry(), { once: true });
    }
  }

  onHlsError(Hls, data) {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      this.hls.recoverMediaError();
    } else {
      // Most often the playlist is not written yet in the first seconds of a stream.
      this.retry();
    }
  }

  retry() {
    if (!this.playing) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.playing) this.start();
    }, RETRY_MS);
  }

  play() {
    // Refused even muted (a browser setting): the bar's play button still starts it.
    this.controls.play();
  }

  stop() {
    this.playing = false;
    clearTimeout(this.retryTimer);
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.video.removeAttribute("src");
    this.video.load();
  }

  showOffline() {
    this.root.dataset.live = "false";
    if (this.uptime) this.uptime.textContent = "";
  }

  tick() {
    if (this.uptime && this.playing && this.startedAt) {
      this.uptime.textContent = formatUptime(Date.now() - this.startedAt.getTime());
    }
  }
}

document.querySelectorAll(".player[data-room-id]").forEach((root) => new LivePlayer(root));
