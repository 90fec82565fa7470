// The streamer dashboard: copy and reveal of the ingest settings, the reset confirmation, the live
// status panel with its viewers-over-time chart, and the same chart of past streams (plain SVG, no
// chart library). The channel trends are drawn on the server (templates/dashboard/_trends.html).
import { formatUptime, watchRoomState } from "./room_state.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const STATUS_POLL_MS = 5000;
// Samples are stored every 30 s (streams/tasks_samples.py); the newest point is the current count.
const LIVE_CHART_MS = 15_000;
// The page's language: numbers and clock times as the translated labels around them expect.
const LOCALE = document.documentElement.lang || undefined;
const number = (value) => new Intl.NumberFormat(LOCALE).format(value);

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http sites have no clipboard API: the old selection-based copy still works there.
  const scratch = document.createElement("textarea");
  scratch.value = text;
  scratch.setAttribute("readonly", "");
  scratch.style.position = "fixed";
  scratch.style.opacity = "0";
  document.body.append(scratch);
  scratch.select();
  document.execCommand("copy");
  scratch.remove();
}

function initCopyButtons() {
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copyTarget);
      const label = button.textContent;
      try {
        await copyText(field.value);
        button.textContent = gettext("Copied");
      } catch {
        button.textContent = gettext("Copy failed");
      }
      setTimeout(() => (button.textContent = label), 1500);
    });
  });
}

function initReveal() {
  document.querySelectorAll("[data-reveal-target]").forEach((button) => {
    button.addEventListener("click", () => {
      const field = document.getElementById(button.dataset.revealTarget);
      const hidden = field.type === "password";
      field.type = hidden ? "text" : "password";
      button.textContent = hidden ? gettext("Hide") : gettext("Reveal");
      button.setAttribute("aria-pressed", String(hidden));
    });
  });
}

function initConfirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function initStatus() {
  const panel = document.querySelector("[data-dash-status]");
  if (!panel) return;
  const field = (name) => panel.querySelector(`[data-status-${name}]`);
  let startedAt = panel.dataset.startedAt ? new Date(panel.dataset.startedAt) : null;
  let live = panel.dataset.status === "live";

  const render = () => {
    panel.classList.toggle("is-live", live);
    field("label").textContent = live ? gettext("Live") : gettext("Offline");
    field("uptime").textContent = live && startedAt ? formatUptime(Date.now() - startedAt.getTime()) : "—";
  };
  const liveChart = initLiveChart(panel);
  const onState = (state) => {
    live = state.status === "live";
    liveChart.update(live, state);
    startedAt = live && state.started_at ? new Date(state.started_at) : live ? startedAt : null;
    if (typeof state.viewer_count === "number") field("viewers").textContent = number(state.viewer_count);
    if (state.bitrate_kbps != null) {
      // Grouping digits in a bitrate reads oddly in every one of the site's languages.
      field("bitrate").textContent = interpolate(gettext("%(rate)s kbps"), { rate: state.bitrate_kbps }, true);
    }
    if (state.resolution) field("resolution").textContent = state.resolution;
    if (!live) {
      field("bitrate").textContent = "—";
      field("resolution").textContent = "—";
    }
    render();
  };
  watchRoomState(panel.dataset.roomId, onState);
  // Bitrate and resolution are known a few seconds into a stream: ask for them while live.
  const poll = async () => {
    if (!live) return;
    try {
      const response = await fetch(panel.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) onState(await response.json());
    } catch {
      // Offline for a moment: the next poll tries again.
    }
  };
  render();
  setInterval(render, 1000);
  if (panel.dataset.statusUrl) {
    poll();
    setInterval(poll, STATUS_POLL_MS);
  }
}

// The status card's chart while live: the stream's samples and, as the newest point, the count now.
function initLiveChart(panel) {
  const wrap = panel.querySelector("[data-dash-live-chart]");
  const box = wrap.querySelector("[data-dash-live-chart-box]");
  let url = wrap.dataset.url || "";
  let viewersNow = Number(panel.querySelector("[data-status-viewers]").textContent.replace(/\D/g, "")) || 0;
  let timer = null;
  const refresh = async () => {
    if (!url) return;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const { samples } = await response.json();
      drawChart(box, [...samples, [new Date().toISOString(), viewersNow]]);
    } catch {
      // The next refresh tries again; the last chart stays meanwhile.
    }
  };
  const start = () => {
    if (timer !== null) return;
    refresh();
    timer = setInterval(refresh, LIVE_CHART_MS);
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
  };
  if (url && panel.dataset.status === "live") start();
  return {
    update(live, state) {
      if (typeof state.viewer_count === "number") viewersNow = state.viewer_count;
      if (state.viewers_url) url = state.viewers_url;
      if (!live) url = ""; // the next stream's samples come with its first status poll
      wrap.hidden = !live || !url;
      if (live && url) start();
      else stop();
    },
  };
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  Object.entries(attrs).forEach(([name, value]) => node.setAttribute(name, value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(box, samples) {
  const width = 640;
  const height = 200;
  const pad = { left: 40, right: 10, top: 10, bottom: 24 };
  box.replaceChildren();
  if (samples.length === 0) {
    box.append(Object.assign(document.createElement("p"), { textContent: gettext("No viewer samples for this stream.") }));
    return;
  }
  const times = samples.map(([at]) => new Date(at).getTime());
  const counts = samples.map(([, viewers]) => viewers);
  const t0 = times[0];
  const span = Math.max(times[times.length - 1] - t0, 1);
  const top = Math.max(...counts, 1);
  const x = (t) => pad.left + ((t - t0) / span) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);

  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "dash-chart__svg" });
  chart.append(svg("title", {}, gettext("Viewers over time")));
  chart.append(svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "dash-chart__axis" }));
  chart.append(svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0), class: "dash-chart__axis" }));
  chart.append(svg("text", { x: pad.left - 6, y: y(top) + 4, "text-anchor": "end", class: "dash-chart__label" }, number(top)));
  chart.append(svg("text", { x: pad.left - 6, y: y(0), "text-anchor": "end", class: "dash-chart__label" }, 0));
  const clock = (t) => new Date(t).toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" });
  chart.append(svg("text", { x: pad.left, y: height - 6, class: "dash-chart__label" }, clock(t0)));
  chart.append(
    svg("text", { x: width - pad.right, y: height - 6, "text-anchor": "end", class: "dash-chart__label" }, clock(t0 + span)),
  );
  const points = times.map((t, i) => `${x(t).toFixed(1)},${y(counts[i]).toFixed(1)}`).join(" ");
  chart.append(svg("polyline", { points, class: "dash-chart__line" }));
  box.append(chart);
}

function initCharts() {
  const box = document.querySelector("[data-dash-chart]");
  if (!box) return;
  const heading = document.querySelector("[data-dash-chart-heading]");
  const buttons = document.querySelectorAll("[data-chart-url]");
  const show = async (button) => {
    buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
    if (heading) heading.textContent = button.dataset.chartLabel;
    try {
      const response = await fetch(button.dataset.chartUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      drawChart(box, (await response.json()).samples);
    } catch {
      box.textContent = gettext("The chart could not be loaded.");
    }
  };
  buttons.forEach((button) => button.addEventListener("click", () => show(button)));
  if (buttons.length) show(buttons[0]);
}

initCopyButtons();
initReveal();
initConfirmForms();
initStatus();
initCharts();
