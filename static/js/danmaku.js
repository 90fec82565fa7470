// Danmaku drawn over a video: text (and known emotes) in the lanes the server assigned, moved with CSS
// transforms (Web Animations). Knows nothing of websockets, so the VOD player can feed it replayed
// comments the same way the live room feeds it socket events.

import { renderText } from "./emotes.js";

const STORAGE_KEY = "streamlite.danmaku";
const FIXED_MS = 4000; // top and bottom comments stay this long
const CROSS_MS = 6000; // a scrolling comment crosses the video in this long at speed 1
const LANE_LINE_HEIGHT = 1.3;
const SIZE_SCALE = { small: 0.75, normal: 1, big: 1.4 };
const AREAS = [0.25, 0.5, 0.75, 1]; // the share of the video's height that comments may use
const WHITE = "#ffffff";

export const DANMAKU_DEFAULTS = Object.freeze({
  enabled: true,
  opacity: 1,
  speed: 1,
  fontScale: 1,
  density: 40,
  area: 1,
  hideScroll: false,
  hideTop: false,
  hideBottom: false,
  hideColoured: false,
  blocked: [],
});

// Beside each slider, its value as the viewer reads it.
const SHOWN_VALUES = {
  opacity: (value) => `${Math.round(value * 100)}%`,
  speed: (value) => `${value}×`,
  fontScale: (value) => `${Math.round(value * 100)}%`,
  density: (value) => String(value),
};

/** The viewer's danmaku preferences, kept in this browser only (localStorage). */
export class DanmakuSettings extends EventTarget {
  constructor(storageKey = STORAGE_KEY) {
    super();
    this.storageKey = storageKey;
    this.values = { ...DANMAKU_DEFAULTS, ...this.load() };
  }

  load() {
    try {
      const stored = JSON.parse(localStorage.getItem(this.storageKey) || "{}");
      if (!stored || typeof stored !== "object") return {};
      // The earlier "keep the bottom quarter clear" box is the ¾ display area.
      if (stored.keepBottomClear && stored.area === undefined) stored.area = 0.75;
      delete stored.keepBottomClear;
      if (!AREAS.includes(Number(stored.area))) delete stored.area;
      return stored;
    } catch {
      return {}; // storage disabled or a damaged value: fall back to the defaults
    }
  }

  update(changes) {
    this.values = { ...this.values, ...changes };
    try {
      localStorage.setItem(this.storageKey, JSON.stringify(this.values));
    } catch {
      // Private mode or a full quota: the settings still hold for this page.
    }
    this.dispatchEvent(new CustomEvent("change", { detail: this.values }));
  }

  isBlocked(text) {
    const lower = text.toLowerCase();
    return this.values.blocked.some((word) => word && lower.includes(word.toLowerCase()));
  }

  /** Whether the viewer hides this kind of comment (its position, or any colour but white). */
  isHiddenKind({ mode, color }) {
    const { hideScroll, hideTop, hideBottom, hideColoured } = this.values;
    if (mode === "top" ? hideTop : mode === "bottom" ? hideBottom : hideScroll) return true;
    return hideColoured && Boolean(color) && color.toLowerCase() !== WHITE;
  }
}

export class DanmakuLayer {
  /**
   * @param {HTMLElement} container the positioned box over which comments fly (the player)
   * @param {{settings?: DanmakuSettings, emotes?: Map}} options emotes: name -> {name, url}, kept current
   *   by the page
   */
  constructor(container, { settings = new DanmakuSettings(), emotes = new Map() } = {}) {
    this.settings = settings;
    this.emotes = emotes;
    this.element = document.createElement("div");
    this.element.className = "danmaku-layer";
    this.element.setAttribute("aria-hidden", "true"); // the chat list is the accessible copy
    container.append(this.element);
    this.active = new Map(); // element -> its animation
    this.applySettings();
    settings.addEventListener("change", () => this.applySettings());
    document.addEventListener("visibilitychange", () => this.setPaused(document.hidden));
  }

  applySettings() {
    const { enabled, opacity } = this.settings.values;
    this.element.hidden = !enabled;
    this.element.style.opacity = String(opacity);
    if (!enabled) this.clear();
  }

  /** Show one danmaku event ({id, text, mode, color, size, lane}); returns whether it was drawn. */
  add(event) {
    const { enabled, density } = this.settings.values;
    // Overflow events are for the chat list only; in a hidden tab they would all start at once on return.
    if (!enabled || event.overflow || document.hidden) return false;
    if (this.active.size >= density || this.settings.isBlocked(event.text)) return false;
    if (this.settings.isHiddenKind(event)) return false;
    const height = this.element.clientHeight;
    const width = this.element.clientWidth;
    if (!height || !width) return false; // the video is not on screen (offline card, collapsed)

    const fontPx = this.fontSize(height);
    const laneHeight = fontPx * LANE_LINE_HEIGHT;
    const usable = height * (Number(this.settings.values.area) || 1);
    const lanes = Math.max(1, Math.floor(usable / laneHeight));
    // The server counts lanes without knowing this player's size: fold extra lanes onto the visible ones.
    const lane = (Number(event.lane) || 0) % lanes;

    const item = document.createElement("div");
    item.className = `danmaku danmaku--${event.mode || "scroll"}`;
    renderText(item, event.text, this.emotes);
    if (event.id != null) item.dataset.id = String(event.id);
    if (/^#[0-9a-f]{6}$/i.test(event.color || "")) item.style.color = event.color;
    item.style.fontSize = `${fontPx * (SIZE_SCALE[event.size] || 1)}px`;
    item.style.lineHeight = String(LANE_LINE_HEIGHT); // of its own size: a big comment is not clipped
    if (event.mode === "bottom") item.style.top = `${usable - (lane + 1) * laneHeight}px`;
    else item.style.top = `${lane * laneHeight}px`;
    this.element.append(item);

    let animation;
    if (event.mode === "top" || event.mode === "bottom") {
      animation = item.animate([{ opacity: 1 }, { opacity: 1 }], { duration: FIXED_MS });
    } else {
      // Same pixel speed for every comment (a longer text takes longer), so a lane's comments never catch up.
      const distance = width + item.offsetWidth;
      const duration = (CROSS_MS / this.settings.values.speed) * (distance / width);
      animation = item.animate(
        [{ transform: "translateX(0)" }, { transform: `translateX(${-distance}px)` }],
        { duration, easing: "linear" },
      );
    }
    this.active.set(item, animation);
    animation.onfinish = () => this.drop(item);
    return true;
  }

  /** Take a comment off the screen, e.g. when a moderator deletes it. */
  remove(id) {
    for (const item of this.active.keys()) {
      if (item.dataset.id === String(id)) this.drop(item);
    }
  }

  clear() {
    for (const item of [...this.active.keys()]) this.drop(item);
  }

  drop(item) {
    this.active.get(item)?.cancel();
    this.active.delete(item);
    item.remove();
  }

  setPaused(paused) {
    for (const animation of this.active.values()) {
      if (paused) animation.pause();
      else animation.play();
    }
  }

  fontSize(height) {
    // Scale with the video like a TV caption, within bounds that stay readable on phones and big screens.
    const base = Math.min(36, Math.max(14, height / 16));
    return base * (Number(this.settings.values.fontScale) || 1);
  }
}

/** Binds the viewer's control panel (data-danmaku-setting inputs) to the settings. */
export function bindDanmakuControls(panel, settings) {
  const inputs = panel.querySelectorAll("[data-danmaku-setting]");
  const showValue = (name, value) => {
    const output = panel.querySelector(`[data-danmaku-value="${name}"]`);
    if (output && SHOWN_VALUES[name]) output.textContent = SHOWN_VALUES[name](value);
  };
  const show = () => {
    inputs.forEach((input) => {
      const name = input.dataset.danmakuSetting;
      const value = settings.values[name];
      if (input.type === "checkbox") input.checked = Boolean(value);
      else if (Array.isArray(value)) input.value = value.join("\n");
      else input.value = String(value);
      showValue(name, value);
    });
  };
  const read = (input) => {
    const name = input.dataset.danmakuSetting;
    if (input.type === "checkbox") return input.checked;
    if (name === "blocked") return input.value.split("\n").map((word) => word.trim()).filter(Boolean);
    return Number(input.value);
  };
  inputs.forEach((input) => {
    // A slider shows its value while it moves; the setting is kept when it is let go.
    input.addEventListener("input", () => showValue(input.dataset.danmakuSetting, read(input)));
    input.addEventListener("change", () => settings.update({ [input.dataset.danmakuSetting]: read(input) }));
  });
  show();
}
