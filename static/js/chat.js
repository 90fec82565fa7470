// The room's chat panel (templates/rooms/_chat.html): message list, composer, moderation menu, and the
// danmaku layer over the player, all fed by one RoomSocket. User text only ever goes in via textContent.
import { bindDanmakuControls, DanmakuLayer, DanmakuSettings } from "./danmaku.js";
import { emoteImage, emoteMapFill, renderText } from "./emotes.js";
import { RoomSocket } from "./room_socket.js";

const LIST_LIMIT = 300; // older messages leave the list so a long stream does not grow the page forever
const STICK_PX = 40; // this close to the bottom counts as "reading the newest"
const COMPOSER_KEY = "streamlite.composer";
const LEVEL_TIERS = [5, 10, 20]; // badge colours change at these levels
const HIGHLIGHT_MS = 8000; // a highlighted message stays over the video this long
// gettext, ngettext and interpolate come from Django's JavaScript catalogue (/jsi18n/, base.html).
const say = (format, values) => interpolate(format, values, true);

// The websocket's error codes (DESIGN §3) in the reader's language; the server's own sentence is only
// the fallback for a code this page does not know yet.
const ERROR_TEXTS = {
  rate_limited: ({ retry_after_ms: retryMs }) => {
    const seconds = Math.max(1, Math.ceil((Number(retryMs) || 1000) / 1000));
    return say(
      ngettext(
        "You are sending too fast. Try again in %(seconds)s second.",
        "You are sending too fast. Try again in %(seconds)s seconds.",
        seconds,
      ),
      { seconds: new Intl.NumberFormat(LOCALE).format(seconds) },
    );
  },
  banned: () => gettext("You are banned from chatting in this room."),
  too_long: (_event, maxLength) =>
    say(
      ngettext(
        "Too long: a message has at most %(count)s character.",
        "Too long: a message has at most %(count)s characters.",
        maxLength,
      ),
      { count: new Intl.NumberFormat(LOCALE).format(maxLength) },
    ),
  comments_off: () => gettext("Comments are turned off in this room."),
  invalid: () => gettext("This message cannot be sent."),
  auth_required: () => gettext("You need to be logged in to chat."),
};

const STATUS_TEXTS = {
  connecting: () => gettext("Connecting…"),
  connected: () => gettext("Connected"),
  offline: () => gettext("Not connected. Reconnecting…"),
};

// The data attribute of #chat holding each moderation endpoint (the template resolves them by name).
const MODERATION_URLS = {
  delete: "moderateDeleteUrl",
  timeout: "moderateTimeoutUrl",
  ban: "moderateBanUrl",
  pin: "moderatePinUrl",
  highlight: "moderateHighlightUrl",
};

// The page's language (Django's), so numbers, times and plurals match the translated strings around them.
const LOCALE = document.documentElement.lang || undefined;
// Characters, not UTF-16 units (an emoji or a CJK extension character counts once), of the composed
// form: Vietnamese typed with combining marks counts each letter once, as the server sees what we send.
const charCount = (text) => [...text.normalize("NFC")].length;

function timeLabel(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" });
}

const moderationFailed = (reason) => say(gettext("That did not work: %(reason)s"), { reason });

class ChatPanel {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("[data-chat-list]");
    this.pill = root.querySelector("[data-chat-pill]");
    this.alert = root.querySelector("[data-chat-alert]");
    this.status = root.querySelector("[data-chat-status]");
    this.viewers = root.querySelector("[data-chat-viewers]");
    this.form = root.querySelector("[data-chat-form]");
    this.maxLength = Number(root.dataset.maxLength) || 200;
    this.username = root.dataset.username || "";
    this.canModerate = root.dataset.canModerate === "true";
    this.modTemplate = document.getElementById("chat-moderation-menu");
    this.pinned = root.querySelector("[data-chat-pinned]");
    this.clientSeq = 0;
    this.emotes = new Map(); // name -> {name, url}: the room's and the site's emotes, from the socket

    this.danmaku = this.mountDanmaku();
    this.socket = new RoomSocket(root.dataset.roomId);
    this.listen();
    if (this.form) this.setUpComposer();
    if (this.canModerate) this.setUpModeration();
    this.setUpViewerList();
    this.list.addEventListener("scroll", () => this.onScroll());
    this.pill.addEventListener("click", () => this.scrollToEnd());
    this.showStatus("connecting");
  }

  mountDanmaku() {
    const player = document.querySelector(`.player[data-room-id="${this.root.dataset.roomId}"]`);
    if (!player) return null;
    const settings = new DanmakuSettings();
    const layer = new DanmakuLayer(player, { settings, emotes: this.emotes });
    this.player = player;
    const controls = document.getElementById("danmaku-controls").content.firstElementChild.cloneNode(true);
    player.append(controls);
    const toggle = controls.querySelector(".danmaku-controls__toggle");
    const panel = controls.querySelector(".danmaku-controls__panel");
    toggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    });
    bindDanmakuControls(panel, settings);
    return layer;
  }

  listen() {
    const on = (type, handler) =>
      this.socket.addEventListener(type, (event) => handler(event.detail, event.backlog));
    on("chat", (event) => this.showMessage(event));
    on("danmaku", (event, backlog) => {
      this.showMessage(event);
      if (!backlog) this.danmaku?.add(event);
    });
    on("ack", (event) => this.onAck(event));
    on("error", (event) => this.onError(event));
    on("delete", (event) => this.onDelete(event));
    on("viewers", (event) => this.showViewers(event.count));
    on("pin", (event) => this.showPinned(event.message));
    on("unpin", () => this.hidePinned());
    on("highlight", (event, backlog) => {
      if (!backlog) this.showHighlight(event.message);
    });
    on("emotes", (event) => this.setEmotes(event.emotes));
    this.socket.addEventListener("open", () => this.showStatus("connected"));
    this.socket.addEventListener("close", () => this.showStatus("offline"));
  }

  showStatus(state) {
    this.status.dataset.state = state;
    this.status.textContent = STATUS_TEXTS[state]?.() || "";
  }

  showViewers(count) {
    const shown = new Intl.NumberFormat(LOCALE).format(count);
    this.viewers.textContent = shown;
  }

  // ---- who is watching ----

  setUpViewerList() {
    const toggle = this.root.querySelector("[data-chat-viewers-toggle]");
    const panel = this.root.querySelector("[data-chat-viewer-list]");
    if (!toggle || !panel) return;
    toggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) this.loadViewers(panel);
    });
  }

  async loadViewers(panel) {
    let viewers;
    try {
      const response = await fetch(panel.dataset.url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      viewers = await response.json();
    } catch {
      panel.querySelector("[data-chat-viewer-anonymous]").textContent = STATUS_TEXTS.offline();
      return;
    }
    const names = viewers.users.map((user) => {
      const item = document.createElement("li");
      item.className = "chat__viewer";
      const link = document.createElement("a");
      link.href = `/u/${encodeURIComponent(user.username)}/`;
      link.textContent = user.display_name || user.username;
      link.title = `@${user.username}`;
      item.append(link);
      return item;
    });
    panel.querySelector("[data-chat-viewer-names]").replaceChildren(...names);
    panel.querySelector("[data-chat-viewer-empty]").hidden = names.length > 0;
    const others = viewers.anonymous;
    panel.querySelector("[data-chat-viewer-anonymous]").textContent = others
      ? say(ngettext("and %(count)s viewer without an account", "and %(count)s viewers without an account", others), {
          count: new Intl.NumberFormat(LOCALE).format(others),
        })
      : "";
  }

  // ---- the list ----

  // The author's name, with their level as a badge when the server sent one.
  buildAuthor(user) {
    const name = document.createElement("span");
    name.className = "chat__user";
    name.textContent = user?.display_name || user?.username || "";
    if (user?.username) name.title = `@${user.username}`;
    const level = Number(user?.level);
    if (!Number.isInteger(level) || level < 1) return [name];
    const badge = document.createElement("span");
    badge.className = "chat__level";
    badge.dataset.level = String(level);
    badge.dataset.tier = String(LEVEL_TIERS.filter((floor) => level >= floor).length);
    badge.textContent = say(gettext("Lv %(level)s"), { level: new Intl.NumberFormat(LOCALE).format(level) });
    badge.title = say(gettext("Level %(level)s"), { level });
    return [badge, " ", name];
  }

  buildMessage({ id, user, text, created_at: createdAt, type }) {
    const item = document.createElement("li");
    item.className = "chat__msg";
    if (id != null) item.dataset.id = String(id);
    item.dataset.username = user?.username || "";
    const time = document.createElement("time");
    time.className = "chat__time";
    if (createdAt) time.dateTime = createdAt;
    time.textContent = timeLabel(createdAt);
    const author = this.buildAuthor(user);
    const name = author[author.length - 1];
    const body = document.createElement("span");
    body.className = "chat__text";
    body.dataset.text = text;
    renderText(body, text, this.emotes);
    item.append(time, " ", ...author, " ", body);
    if (type === "danmaku") {
      const tag = document.createElement("span");
      tag.className = "chat__tag";
      tag.textContent = gettext("Danmaku");
      name.after(" ", tag);
    }
    if (this.canModerate) item.append(this.modTemplate.content.firstElementChild.cloneNode(true));
    return item;
  }

  showMessage(event) {
    const existing = this.list.querySelector(`.chat__msg[data-id="${CSS.escape(String(event.id))}"]`);
    const item = this.buildMessage(event);
    // Our own message, acknowledged already: the server's copy replaces the pending one in place.
    if (existing) existing.replaceWith(item);
    else this.append(item);
  }

  append(item) {
    const readingNewest = this.isAtEnd();
    this.list.append(item);
    while (this.list.children.length > LIST_LIMIT) this.list.firstElementChild.remove();
    if (readingNewest) this.scrollToEnd();
    else this.pill.hidden = false;
  }

  isAtEnd() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < STICK_PX;
  }

  onScroll() {
    if (this.isAtEnd()) this.pill.hidden = true;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
    this.pill.hidden = true;
  }

  onDelete({ id }) {
    this.list.querySelector(`.chat__msg[data-id="${CSS.escape(String(id))}"]`)?.remove();
    this.danmaku?.remove(id);
  }

  // ---- pinned and highlighted messages, emotes ----

  showPinned(message) {
    if (!this.pinned || !message) return;
    const body = this.pinned.querySelector("[data-chat-pinned-message]");
    const text = document.createElement("span");
    text.className = "chat__text";
    renderText(text, message.text, this.emotes);
    body.replaceChildren(...this.buildAuthor(message.user), " ", text);
    this.pinned.dataset.id = String(message.id);
    this.pinned.hidden = false;
  }

  hidePinned() {
    if (!this.pinned) return;
    this.pinned.hidden = true;
    delete this.pinned.dataset.id;
    this.pinned.querySelector("[data-chat-pinned-message]").replaceChildren();
  }

  showHighlight(message) {
    if (!this.player || !message) return;
    this.highlight?.remove();
    const box = document.createElement("div");
    box.className = "highlight";
    box.setAttribute("role", "status");
    const text = document.createElement("span");
    text.className = "highlight__text";
    renderText(text, message.text, this.emotes);
    const author = this.buildAuthor(message.user);
    author[author.length - 1].className = "highlight__user";
    box.append(...author, text);
    this.player.append(box);
    this.highlight = box;
    setTimeout(() => box.remove(), HIGHLIGHT_MS);
  }

  setEmotes(emotes) {
    emoteMapFill(this.emotes, emotes);
    this.fillEmotePicker();
    this.root.dispatchEvent(new CustomEvent("chat:emotes", { detail: this.emotes }));
  }

  // ---- sending ----

  setUpComposer() {
    this.input = this.form.querySelector("[data-chat-input]");
    this.sendButton = this.form.querySelector("[data-chat-send]");
    this.counter = this.form.querySelector("[data-chat-counter]");
    this.options = this.form.querySelector("[data-chat-danmaku-options]");
    this.restoreComposer();
    this.form.addEventListener("change", (event) => this.onComposerChange(event));
    this.input.addEventListener("input", () => this.updateCounter());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendMessage();
    });
    this.updateCounter();
    this.setUpEmotePicker();
  }

  setUpEmotePicker() {
    this.picker = this.form.querySelector("[data-chat-emote-picker]");
    this.pickerToggle = this.form.querySelector("[data-chat-emote-toggle]");
    if (!this.picker || !this.pickerToggle) return;
    this.pickerToggle.addEventListener("click", () => {
      this.picker.hidden = !this.picker.hidden;
      this.pickerToggle.setAttribute("aria-expanded", String(!this.picker.hidden));
    });
    this.picker.addEventListener("click", (event) => {
      const choice = event.target.closest("[data-emote]");
      if (choice) this.insertEmote(choice.dataset.emote);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.picker.hidden) {
        this.picker.hidden = true;
        this.pickerToggle.setAttribute("aria-expanded", "false");
        this.pickerToggle.focus();
      }
    });
    this.fillEmotePicker();
  }

  fillEmotePicker() {
    if (!this.picker) return;
    const buttons = [...this.emotes.values()].map((emote) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chat__emote";
      button.dataset.emote = emote.name;
      button.title = `:${emote.name}:`;
      button.append(emoteImage(emote));
      return button;
    });
    this.picker.querySelector("[data-chat-emote-grid]").replaceChildren(...buttons);
    this.picker.querySelector("[data-chat-emote-empty]").hidden = buttons.length > 0;
  }

  insertEmote(name) {
    const { input } = this;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    const before = input.value.slice(0, start);
    const after = input.value.slice(end);
    // Spaces around it, so it never fuses with the words next to it into another ":name:".
    const token = `${before && !before.endsWith(" ") ? " " : ""}:${name}:${after.startsWith(" ") ? "" : " "}`;
    input.value = before + token + after;
    const caret = before.length + token.length;
    input.focus();
    input.setSelectionRange(caret, caret);
    this.updateCounter();
  }

  restoreComposer() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(COMPOSER_KEY) || "{}") || {};
    } catch {
      // Storage disabled: start from the template's defaults.
    }
    for (const name of ["kind", "mode", "color", "size"]) {
      const radio = this.form.querySelector(`input[name="${name}"][value="${CSS.escape(String(saved[name]))}"]`);
      if (radio) radio.checked = true;
    }
    const swatch = this.form.querySelector(`input[name="color"][value="${CSS.escape(String(saved.color))}"]`);
    if (!swatch && /^#[0-9a-f]{6}$/i.test(saved.color || "")) {
      this.form.elements.custom_color.value = saved.color;
      this.form.querySelectorAll('input[name="color"]').forEach((radio) => {
        radio.checked = false;
      });
    }
    this.options.hidden = this.form.elements.kind.value !== "danmaku";
  }

  onComposerChange(event) {
    if (event.target.name === "custom_color") {
      // The picker's colour becomes the chosen one; no swatch stays selected.
      this.form.querySelectorAll('input[name="color"]').forEach((radio) => {
        radio.checked = false;
      });
    }
    this.options.hidden = this.form.elements.kind.value !== "danmaku";
    try {
      localStorage.setItem(COMPOSER_KEY, JSON.stringify(this.composerChoice()));
    } catch {
      // Not remembered across visits, still used now.
    }
  }

  composerChoice() {
    const { elements } = this.form;
    return {
      kind: elements.kind.value,
      mode: elements.mode.value || "scroll",
      color: elements.color.value || elements.custom_color.value,
      size: elements.size.value || "normal",
    };
  }

  updateCounter() {
    const count = charCount(this.input.value);
    this.counter.textContent = `${count}/${this.maxLength}`;
    this.counter.classList.toggle("is-over", count > this.maxLength);
  }

  sendMessage() {
    const text = this.input.value.trim().normalize("NFC");
    if (!text || this.input.disabled) return;
    // Commands such as "ue red big" stay in the text: the server reads them and counts the length
    // after them, so a long-looking message may still be fine and the server has the last word.
    const choice = this.composerChoice();
    this.clientSeq += 1;
    const clientId = `${Date.now().toString(36)}-${this.clientSeq}-${Math.random().toString(36).slice(2, 8)}`;
    const frame =
      choice.kind === "danmaku"
        ? { type: "danmaku", text, mode: choice.mode, color: choice.color, size: choice.size, client_id: clientId }
        : { type: "chat", text, client_id: clientId };
    if (!this.socket.send(frame)) {
      this.showAlert(STATUS_TEXTS.offline());
      return;
    }
    const pending = this.buildMessage({ user: { username: this.username }, text, type: frame.type });
    pending.classList.add("is-pending");
    pending.dataset.clientId = clientId;
    pending.title = gettext("Sending…");
    pending.querySelector(".chat__user").textContent = this.username;
    pending.querySelector(".chat__mod")?.remove();
    this.append(pending);
    this.input.value = "";
    this.updateCounter();
    this.hideAlert();
    this.scrollToEnd();
  }

  pendingFor(clientId) {
    if (!clientId) return null;
    return this.list.querySelector(`.chat__msg.is-pending[data-client-id="${CSS.escape(String(clientId))}"]`);
  }

  onAck({ client_id: clientId, id }) {
    const pending = this.pendingFor(clientId);
    if (!pending) return;
    // The room's copy may have come first (another web process published it): keep just one.
    if (this.list.querySelector(`.chat__msg[data-id="${CSS.escape(String(id))}"]`)) {
      pending.remove();
      return;
    }
    pending.classList.remove("is-pending");
    pending.removeAttribute("title");
    pending.dataset.id = String(id);
  }

  onError(event) {
    const pending = this.pendingFor(event.client_id);
    if (pending) {
      // Give the text back so the sender can shorten or resend it.
      if (!this.input.value) {
        this.input.value = pending.querySelector(".chat__text").dataset.text;
        this.updateCounter();
      }
      pending.remove();
    }
    const known = ERROR_TEXTS[event.code];
    const message = known ? known(event, this.maxLength) : event.message || ERROR_TEXTS.invalid();
    this.showAlert(message, event.code);
    if (event.code === "banned" && this.input) {
      this.input.disabled = true;
      this.sendButton.disabled = true;
    }
  }

  showAlert(message, code = "") {
    this.alert.replaceChildren(message);
    this.alert.dataset.code = code;
    if (code === "auth_required") {
      const link = document.createElement("a");
      link.href = this.root.dataset.loginUrl;
      link.textContent = gettext("Log in to chat");
      this.alert.append(" ", link);
    }
    this.alert.hidden = false;
  }

  hideAlert() {
    this.alert.hidden = true;
    this.alert.replaceChildren();
  }

  // ---- moderation (owner, moderators, staff) ----

  setUpModeration() {
    this.list.addEventListener("click", (event) => {
      const toggle = event.target.closest(".chat__mod-toggle");
      if (toggle) {
        const menu = toggle.nextElementSibling;
        this.closeMenus(menu);
        menu.hidden = !menu.hidden;
        toggle.setAttribute("aria-expanded", String(!menu.hidden));
        return;
      }
      const action = event.target.closest("[data-mod-action]");
      if (action) {
        this.closeMenus();
        this.moderate(action, action.closest(".chat__msg"));
      }
    });
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".chat__mod")) this.closeMenus();
    });
    this.root.querySelector("[data-chat-unpin]")?.addEventListener("click", () => this.unpin());
  }

  async unpin() {
    try {
      const response = await fetch(this.root.dataset.moderatePinUrl, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": this.root.dataset.csrfToken },
      });
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        this.showAlert(moderationFailed(answer.error?.message || response.statusText));
      }
    } catch {
      this.showAlert(moderationFailed(STATUS_TEXTS.offline()));
    }
  }

  closeMenus(except = null) {
    this.list.querySelectorAll(".chat__mod-menu").forEach((menu) => {
      if (menu === except) return;
      menu.hidden = true;
      menu.previousElementSibling.setAttribute("aria-expanded", "false");
    });
  }

  async moderate(button, item) {
    const { modAction: action, minutes } = button.dataset;
    const username = item.dataset.username;
    let body;
    if (action === "delete" || action === "pin" || action === "highlight") body = { message_id: Number(item.dataset.id) };
    else if (action === "timeout") body = { username, minutes: Number(minutes) };
    else {
      if (!window.confirm(say(gettext("Ban %(user)s from chatting in this room?"), { user: username }))) return;
      body = { username, reason: "" };
    }
    try {
      const response = await fetch(this.root.dataset[MODERATION_URLS[action]], {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": this.root.dataset.csrfToken,
        },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        this.showAlert(gettext("Done."));
        return;
      }
      const answer = await response.json().catch(() => ({}));
      this.showAlert(moderationFailed(answer.error?.message || response.statusText));
    } catch {
      this.showAlert(moderationFailed(STATUS_TEXTS.offline()));
    }
  }
}

const root = document.getElementById("chat");
if (root) new ChatPanel(root);
