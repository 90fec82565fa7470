// The player box's controls (templates/includes/player_controls.html), shared by the live room and the
// VOD page: play, volume and mute remembered in this browser, fullscreen of the whole box (video, danmaku
// and controls), theater mode, keyboard shortcuts with their "?" help, and the VOD's seek bar.

const STORAGE_KEY = "streamlite.player";
const SEEK_STEP_S = 5;
const VOLUME_STEP = 0.1;
const IDLE_MS = 2500; // the bar fades this long after the pointer stops over a playing video
const DEFAULTS = Object.freeze({ volume: 1, muted: false, theater: false });

function loadPrefs() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
    return { ...DEFAULTS, ...(stored && typeof stored === "object" ? stored : {}) };
  } catch {
    return { ...DEFAULTS }; // storage disabled or a damaged value
  }
}

function savePrefs(changes) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...loadPrefs(), ...changes }));
  } catch {
    // Private mode or a full quota: the choice still holds on this page.
  }
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Keys typed into a field belong to the field.
function isTyping(target) {
  return Boolean(target?.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

export class PlayerControls {
  /**
   * @param {HTMLElement} box the element that goes fullscreen: video, danmaku layer and the control bar
   * @param {HTMLVideoElement} video
   */
  constructor(box, video) {
    this.box = box;
    this.video = video;
    this.bar = box.querySelector("[data-player-bar]");
    this.help = box.querySelector("[data-player-help]");
    this.volume = box.querySelector("[data-player-volume]");
    this.time = box.querySelector("[data-player-time]");
    this.seek = box.querySelector("[data-player-seek]");
    this.unmute = box.querySelector("[data-player-unmute]");
    this.forcedMute = false;
    this.idleTimer = null;

    const prefs = loadPrefs();
    video.controls = false;
    video.volume = Math.min(1, Math.max(0, Number(prefs.volume) || 0));
    video.muted = Boolean(prefs.muted);
    if (this.canTheater()) this.setTheater(Boolean(prefs.theater), { save: false });

    box.addEventListener("click", (event) => {
      const action = event.target.closest("[data-player-action]")?.dataset.playerAction;
      if (action) this.act(action);
      else if (event.target === video) this.togglePlay();
    });
    video.addEventListener("dblclick", () => this.toggleFullscreen());
    this.unmute?.addEventListener("click", () => this.setMuted(false));
    this.volume?.addEventListener("input", () => {
      video.volume = Number(this.volume.value);
      video.muted = video.volume === 0;
    });
    for (const type of ["play", "pause", "volumechange", "timeupdate", "durationchange", "loadedmetadata"]) {
      video.addEventListener(type, () => this.show());
    }
    video.addEventListener("volumechange", () => {
      if (!this.forcedMute) savePrefs({ volume: video.volume, muted: video.muted });
    });
    document.addEventListener("fullscreenchange", () => this.show());
    document.addEventListener("keydown", (event) => this.onKey(event));
    box.addEventListener("pointermove", () => this.wake());
    box.addEventListener("pointerleave", () => this.sleep());
    if (this.seek) this.bindSeek();
    this.show();
  }

  /** Play; muted only when the browser refuses sound without a gesture (then Unmute is offered). */
  play() {
    return this.video.play().catch((error) => {
      if (error?.name !== "NotAllowedError" || this.video.muted) return;
      this.forcedMute = true;
      this.video.muted = true;
      this.box.dataset.forcedMute = "true";
      this.video.play().catch(() => {});
    });
  }

  act(action) {
    if (action === "play") this.togglePlay();
    else if (action === "mute") this.setMuted(!this.video.muted);
    else if (action === "fullscreen") this.toggleFullscreen();
    else if (action === "theater") this.setTheater(document.documentElement.dataset.theater !== "true");
    else if (action === "help") this.toggleHelp();
  }

  onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    // A focused button handles its own Space and Enter.
    if ((event.key === " " || event.key === "Enter") && event.target.closest?.("button, a, summary")) return;
    const handlers = {
      " ": () => this.togglePlay(),
      k: () => this.togglePlay(),
      m: () => this.setMuted(!this.video.muted),
      f: () => this.toggleFullscreen(),
      t: () => this.canTheater() && this.setTheater(document.documentElement.dataset.theater !== "true"),
      "?": () => this.toggleHelp(),
      Escape: () => this.help && !this.help.hidden && this.toggleHelp(),
      ArrowUp: () => this.nudgeVolume(VOLUME_STEP),
      ArrowDown: () => this.nudgeVolume(-VOLUME_STEP),
      ArrowLeft: () => this.seekBy(-SEEK_STEP_S),
      ArrowRight: () => this.seekBy(SEEK_STEP_S),
    };
    const key = event.key.length === 1 && event.key !== "?" ? event.key.toLowerCase() : event.key;
    const handler = handlers[key];
    if (!handler) return;
    if (handler() === false) return; // not this player's key here (e.g. seeking a live stream)
    event.preventDefault();
    this.wake();
  }

  togglePlay() {
    if (this.video.paused) this.play();
    else this.video.pause();
  }

  setMuted(muted) {
    this.forcedMute = false;
    delete this.box.dataset.forcedMute;
    this.video.muted = muted;
    if (!muted && this.video.volume === 0) this.video.volume = VOLUME_STEP;
  }

  nudgeVolume(step) {
    this.forcedMute = false;
    delete this.box.dataset.forcedMute;
    this.video.volume = Math.round(Math.min(1, Math.max(0, this.video.volume + step)) * 100) / 100;
    this.video.muted = this.video.volume === 0;
  }

  seekBy(seconds) {
    if (!this.seek || !Number.isFinite(this.video.duration)) return false;
    this.video.currentTime = Math.min(this.video.duration, Math.max(0, this.video.currentTime + seconds));
    return true;
  }

  toggleFullscreen() {
    if (document.fullscreenElement === this.box) document.exitFullscreen().catch(() => {});
    else this.box.requestFullscreen?.().catch(() => {});
  }

  canTheater() {
    return Boolean(this.box.querySelector("[data-player-action=theater]"));
  }

  setTheater(on, { save = true } = {}) {
    if (on) document.documentElement.dataset.theater = "true";
    else delete document.documentElement.dataset.theater;
    if (save) savePrefs({ theater: on });
    this.show();
  }

  toggleHelp() {
    if (!this.help) return;
    this.help.hidden = !this.help.hidden;
    this.box.querySelector("[data-player-bar] [data-player-action=help]")?.setAttribute(
      "aria-expanded",
      String(!this.help.hidden),
    );
    if (!this.help.hidden) this.help.querySelector("button")?.focus();
  }

  wake() {
    this.box.dataset.active = "true";
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.sleep(), IDLE_MS);
  }

  sleep() {
    clearTimeout(this.idleTimer);
    delete this.box.dataset.active;
  }

  /** Reflect the video's state on the box (CSS swaps the icons) and the bar's readouts. */
  show() {
    const { video, box } = this;
    box.dataset.paused = String(video.paused);
    box.dataset.muted = String(video.muted || video.volume === 0);
    box.querySelector("[data-player-action=fullscreen]")?.setAttribute(
      "aria-pressed",
      String(document.fullscreenElement === box),
    );
    box.querySelector("[data-player-action=theater]")?.setAttribute(
      "aria-pressed",
      String(document.documentElement.dataset.theater === "true"),
    );
    if (this.volume) this.volume.value = String(video.muted ? 0 : video.volume);
    if (this.seek && this.time) {
      const duration = Number.isFinite(video.duration) ? video.duration : 0;
      this.time.textContent = `${formatClock(video.currentTime)} / ${formatClock(duration)}`;
      const share = duration ? video.currentTime / duration : 0;
      this.seek.querySelector("[data-player-played]").style.width = `${share * 100}%`;
      this.seek.setAttribute("aria-valuemax", String(Math.round(duration)));
      this.seek.setAttribute("aria-valuenow", String(Math.round(video.currentTime)));
      this.seek.setAttribute("aria-valuetext", this.time.textContent);
    }
  }

  // ---- the VOD's seek bar: the heatmap lies in the same box, so a time has one x for both ----

  secondsAt(clientX) {
    const rect = this.seek.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return share * (Number.isFinite(this.video.duration) ? this.video.duration : 0);
  }

  bindSeek() {
    const tip = this.seek.querySelector("[data-player-hover-time]");
    let dragging = false;
    const seekTo = (event) => {
      if (Number.isFinite(this.video.duration)) this.video.currentTime = this.secondsAt(event.clientX);
    };
    this.seek.addEventListener("pointerdown", (event) => {
      dragging = true;
      this.seek.setPointerCapture(event.pointerId);
      seekTo(event);
    });
    this.seek.addEventListener("pointermove", (event) => {
      const rect = this.seek.getBoundingClientRect();
      tip.hidden = false;
      tip.textContent = formatClock(this.secondsAt(event.clientX));
      tip.style.left = `${Math.min(rect.width, Math.max(0, event.clientX - rect.left))}px`;
      if (dragging) seekTo(event);
    });
    this.seek.addEventListener("pointerup", () => {
      dragging = false;
    });
    this.seek.addEventListener("pointerleave", () => {
      if (!dragging) tip.hidden = true;
    });
    this.seek.addEventListener("keydown", (event) => {
      if (event.key === "Home") this.video.currentTime = 0;
      else if (event.key === "End" && Number.isFinite(this.video.duration)) this.video.currentTime = this.video.duration;
      else return;
      event.preventDefault();
    });
  }

  /** Draw the comments heatmap ({duration_ms, bucket_ms, counts}) as bars over the seek track. */
  drawHeatmap(density) {
    const heatmap = this.seek?.querySelector("[data-heatmap]");
    if (!heatmap) return;
    const max = Math.max(1, ...density.counts);
    const duration = density.duration_ms || density.bucket_ms * density.counts.length || 1;
    heatmap.replaceChildren(
      ...density.counts.map((count, i) => {
        const cell = document.createElement("span");
        cell.className = "vod-heatmap__cell";
        cell.dataset.count = String(count);
        cell.style.left = `${((i * density.bucket_ms) / duration) * 100}%`;
        cell.style.width = `${(Math.min(density.bucket_ms, duration - i * density.bucket_ms) / duration) * 100}%`;
        cell.style.height = `${count ? 15 + (85 * count) / max : 0}%`;
        return cell;
      }),
    );
  }
}
