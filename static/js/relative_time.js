// Keeps "3 minutes ago" true on a page left open: every <time data-relative> the server rendered with
// naturaltime is said again, in the page's language, as time passes.
const LOCALE = document.documentElement.lang || undefined;
const STEPS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];
const REFRESH_MS = 30_000;

const format = new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });

export function relativeTime(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size || unit === "second") return format.format(Math.trunc(seconds / size), unit);
  }
  return "";
}

function refresh() {
  document.querySelectorAll("time[data-relative][datetime]").forEach((element) => {
    const date = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(date.getTime())) element.textContent = relativeTime(date);
  });
}

if (document.querySelector("time[data-relative]")) setInterval(refresh, REFRESH_MS);
