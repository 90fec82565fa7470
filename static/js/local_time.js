// Times in the reader's own time zone: the server renders UTC ("… UTC"); every <time data-local> is said
// again in the browser's zone and language, and a datetime-local input marked data-local-datetime is
// filled and read in that zone while the server keeps receiving UTC.
const LOCALE = document.documentElement.lang || undefined;
const FORMAT = new Intl.DateTimeFormat(LOCALE, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});

const pad = (n) => String(n).padStart(2, "0");
const localValue = (d) =>
  `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const utcValue = (d) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;

export function localTimes(root = document) {
  root.querySelectorAll("time[data-local][datetime]").forEach((element) => {
    const date = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) return;
    element.title = element.textContent.trim();
    element.textContent = FORMAT.format(date);
  });
}

function localInputs(root = document) {
  root.querySelectorAll("input[data-local-datetime]").forEach((input) => {
    // A value the server rendered (a form shown again with errors) is UTC.
    if (input.value) input.value = localValue(new Date(`${input.value}:00Z`));
    const label = input.id && root.querySelector(`label[for="${input.id}"]`);
    if (label && input.dataset.localLabel) label.textContent = input.dataset.localLabel;
    input.form?.addEventListener("submit", () => {
      const date = new Date(input.value);
      if (input.value && !Number.isNaN(date.getTime())) input.value = utcValue(date);
    });
  });
}

localTimes();
localInputs();
