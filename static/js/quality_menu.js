// The player bar's quality menu (templates/includes/player_controls.html) over an hls.js instance, live or
// VOD: "Auto" lets hls.js pick the rung by measured bandwidth and shows the one playing ("Auto (480p)"); a
// pinned rung stays pinned. The choice is remembered in this browser, as a height, so that it carries over
// to other streams and VODs with a rung of that height. Hidden while the playlist has a single rendition.
// gettext and interpolate: Django's JavaScript catalogue (base.html).

const STORAGE_KEY = "streamlite.quality";
const AUTO = "auto";

export function loadQuality() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    const height = Number(stored);
    return Number.isInteger(height) && height > 0 ? height : AUTO;
  } catch {
    return AUTO; // storage disabled
  }
}

function saveQuality(choice) {
  try {
    localStorage.setItem(STORAGE_KEY, String(choice));
  } catch {
    // Private mode or a full quota: the choice still holds on this page.
  }
}

function levelName(level) {
  return level.height ? `${level.height}p` : level.name || `${Math.round(level.bitrate / 1000)} kbps`;
}

export class QualityMenu {
  /**
   * @param {HTMLElement} box the player box holding the bar
   * @param {object} hls an hls.js instance; the menu follows its levels and level switches
   * @param {object} Hls the hls.js class (for its event names)
   */
  constructor(box, hls, Hls) {
    this.root = box.querySelector("[data-player-quality]");
    if (!this.root) return;
    this.hls = hls;
    this.button = this.root.querySelector("[data-player-quality-button]");
    this.label = this.root.querySelector("[data-player-quality-label]");
    this.menu = this.root.querySelector("[data-player-quality-menu]");
    this.items = [];
    // The newest menu owns the bar's element: a player restarted on a new hls.js instance rebinds it.
    this.root.qualityMenu?.dispose();
    this.root.qualityMenu = this;
    this.listeners = [];
    this.listen(this.button, "click", () => this.toggle());
    this.listen(this.menu, "click", (event) => {
      const item = event.target.closest("[data-quality]");
      if (item) this.choose(item.dataset.quality);
    });
    this.listen(this.menu, "keydown", (event) => this.onKey(event));
    this.listen(document, "click", (event) => {
      if (!this.root.contains(event.target)) this.close();
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.build());
    hls.on(Hls.Events.LEVEL_SWITCHED, () => this.showLabel());
    if (hls.levels?.length) this.build();
  }

  listen(target, type, handler) {
    target.addEventListener(type, handler);
    this.listeners.push([target, type, handler]);
  }

  dispose() {
    for (const [target, type, handler] of this.listeners) target.removeEventListener(type, handler);
    this.listeners = [];
  }

  /** Levels highest first, with their hls.js index. */
  levels() {
    return this.hls.levels
      .map((level, index) => ({ level, index }))
      .sort((a, b) => (b.level.height || 0) - (a.level.height || 0) || b.level.bitrate - a.level.bitrate);
  }

  build() {
    const levels = this.levels();
    this.root.hidden = levels.length < 2;
    if (levels.length < 2) return;
    const item = (value, text) => {
      const li = document.createElement("li");
      li.className = "player-quality__item";
      li.setAttribute("role", "menuitemradio");
      li.tabIndex = -1;
      li.dataset.quality = value;
      li.textContent = text;
      return li;
    };
    this.items = [
      item(AUTO, gettext("Auto")),
      ...levels.map(({ level, index }) => item(String(index), levelName(level))),
    ];
    this.menu.replaceChildren(...this.items);
    this.apply(loadQuality());
  }

  /** Pin the rung of the remembered height (or the nearest below it), else Auto. */
  apply(choice, { start = true } = {}) {
    const levels = this.levels();
    const pinned = choice === AUTO ? undefined : levels.find(({ level }) => level.height && level.height <= choice);
    // currentLevel switches now (the buffer ahead is dropped); -1 hands the choice back to hls.js. At the
    // start Auto is already what hls.js does.
    if (pinned) this.hls.currentLevel = pinned.index;
    else if (!start) this.hls.currentLevel = -1;
    this.showLabel();
  }

  choose(value) {
    if (value === AUTO) {
      saveQuality(AUTO);
      this.apply(AUTO, { start: false });
    } else {
      const level = this.hls.levels[Number(value)];
      if (!level) return;
      if (level.height) saveQuality(level.height);
      this.hls.currentLevel = Number(value);
      this.showLabel();
    }
    this.close();
    this.button.focus();
  }

  showLabel() {
    if (!this.items.length) return;
    const auto = this.hls.autoLevelEnabled;
    const playing = this.hls.levels[this.hls.currentLevel];
    const name = playing ? levelName(playing) : "";
    const text = auto ? (name ? interpolate(gettext("Auto (%s)"), [name]) : gettext("Auto")) : name;
    this.label.textContent = text;
    this.button.setAttribute("aria-label", interpolate(gettext("Quality: %s"), [text]));
    this.root.dataset.quality = auto ? AUTO : name;
    const selected = auto ? AUTO : String(this.hls.currentLevel);
    for (const li of this.items) li.setAttribute("aria-checked", String(li.dataset.quality === selected));
  }

  toggle() {
    if (this.menu.hidden) this.open();
    else this.close();
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    (this.items.find((li) => li.getAttribute("aria-checked") === "true") || this.items[0])?.focus();
  }

  close() {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  onKey(event) {
    const at = this.items.indexOf(document.activeElement);
    const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: this.items.length - 1 };
    if (event.key in moves) {
      this.items[(moves[event.key] + this.items.length) % this.items.length].focus();
    } else if (event.key === "Enter" || event.key === " ") {
      if (at >= 0) this.choose(this.items[at].dataset.quality);
    } else if (event.key === "Escape" || event.key === "Tab") {
      this.close();
      if (event.key === "Escape") this.button.focus();
      if (event.key === "Tab") return; // focus moves on as usual
    } else {
      return;
    }
    // The player's own shortcuts (arrows seek and change the volume) must not act as well.
    event.preventDefault();
  }
}
