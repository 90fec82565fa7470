// The dashboard's VOD list: rows from the API (the owner sees every state), a progress bar that moves
// while a VOD is processing (polled), the failure reason with Retry, rename, hide/publish and delete.
const POLL_BUSY_MS = 2_000;
const POLL_IDLE_MS = 30_000;
// gettext and interpolate: Django's JavaScript catalogue (base.html).
const STATUS_LABELS = {
  processing: () => gettext("Processing"),
  ready: () => gettext("Published"),
  failed: () => gettext("Failed"),
  hidden: () => gettext("Hidden"),
};
const RUNG_STATUS_LABELS = {
  pending: () => gettext("waiting"),
  processing: () => gettext("processing"),
  ready: () => gettext("ready"),
  failed: () => gettext("failed"),
};
const LOCALE = document.documentElement.lang || undefined;
const rungBusy = (rung) => rung.status === "pending" || rung.status === "processing";

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

async function api(url, { method = "GET", body } = {}) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    // The API's error shape carries a translated sentence for the streamer.
    const body = await response.json().catch(() => null);
    throw new Error(body?.error?.message || "");
  }
  return response.status === 204 ? null : response.json();
}

class VodDashboard {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("[data-vod-list]");
    this.rowTemplate = root.querySelector("#vod-row");
    this.error = root.querySelector("[data-vod-error]");
    this.timer = null;
    this.refresh();
  }

  vodUrl(id, action = "") {
    return `${this.root.dataset.apiUrl}${id}/${action}`;
  }

  async refresh() {
    clearTimeout(this.timer);
    let busy = false;
    try {
      const page = await api(this.root.dataset.listUrl);
      this.render(page.results);
      busy = page.results.some((vod) => vod.status === "processing" || (vod.renditions || []).some(rungBusy));
    } catch {
      // A failed poll is retried on the next one.
    }
    this.timer = setTimeout(() => this.refresh(), busy ? POLL_BUSY_MS : POLL_IDLE_MS);
  }

  render(vods) {
    this.root.querySelector("[data-vod-empty]").hidden = vods.length > 0;
    const editing = this.list.querySelector("[data-vod-rename]:not([hidden])");
    if (editing) return; // do not throw away what the streamer is typing
    this.list.replaceChildren(...vods.map((vod) => this.row(vod)));
  }

  row(vod) {
    const row = this.rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.vodRow = String(vod.id);
    row.dataset.status = vod.status;
    const thumb = row.querySelector("[data-vod-thumb]");
    if (vod.thumbnail_url) thumb.src = vod.thumbnail_url;
    else thumb.removeAttribute("src");
    const title = row.querySelector("[data-vod-title]");
    title.textContent = vod.title;
    title.href = `/vods/${vod.id}/`;
    row.querySelector("[data-vod-status]").textContent = STATUS_LABELS[vod.status]?.() || vod.status;
    const progress = row.querySelector("[data-vod-progress]");
    progress.value = vod.progress;
    progress.hidden = vod.status !== "processing";
    row.querySelector("[data-vod-percent]").textContent =
      vod.status === "processing" ? new Intl.NumberFormat(LOCALE, { style: "percent" }).format(vod.progress / 100) : "";
    row.querySelector("[data-vod-reason]").textContent = vod.status === "failed" ? vod.failure_reason : "";
    this.renderRungs(row.querySelector("[data-vod-rungs]"), vod.renditions || []);
    const show = (action, visible) => (row.querySelector(`[data-vod-action=${action}]`).hidden = !visible);
    show("hide", vod.status === "ready");
    show("publish", vod.status === "hidden" && vod.hls_url !== null);
    show("retry", vod.status === "failed" || (vod.renditions || []).some((rung) => rung.status === "failed"));
    row.querySelectorAll("[data-vod-action]").forEach((button) =>
      button.addEventListener("click", () => this.act(vod, button.dataset.vodAction, row)),
    );
    const form = row.querySelector("[data-vod-rename]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      form.hidden = true;
      this.run(api(this.vodUrl(vod.id), { method: "PATCH", body: { title: form.elements[0].value } }));
    });
    return row;
  }

  /** The quality ladder's rungs below the source, each with its state; a failed one says why. */
  renderRungs(list, rungs) {
    list.hidden = rungs.length === 0;
    const percent = new Intl.NumberFormat(LOCALE, { style: "percent" });
    list.replaceChildren(
      ...rungs.map((rung) => {
        const item = document.createElement("li");
        item.className = "vod-rungs__rung";
        item.dataset.rung = rung.name;
        item.dataset.status = rung.status;
        const state = rung.status === "processing" ? percent.format(rung.progress / 100) : RUNG_STATUS_LABELS[rung.status]?.() || rung.status;
        const reason = rung.status === "failed" && rung.failure_reason ? ` (${rung.failure_reason})` : "";
        item.textContent = `${rung.name} · ${state}${reason}`;
        return item;
      }),
    );
  }

  act(vod, action, row) {
    if (action === "rename") {
      const form = row.querySelector("[data-vod-rename]");
      form.hidden = !form.hidden;
      form.elements[0].value = vod.title;
      if (!form.hidden) form.elements[0].focus();
    } else if (action === "hide" || action === "publish") {
      const status = action === "hide" ? "hidden" : "ready";
      this.run(api(this.vodUrl(vod.id), { method: "PATCH", body: { status } }));
    } else if (action === "retry") {
      this.run(api(this.vodUrl(vod.id, "retry/"), { method: "POST" }));
    } else if (action === "delete" && window.confirm(gettext("Delete this VOD and its video for good?"))) {
      this.run(api(this.vodUrl(vod.id), { method: "DELETE" }));
    }
  }

  async run(request) {
    this.error.hidden = true;
    try {
      await request;
    } catch (error) {
      this.error.textContent = error.message || gettext("That did not work, try again.");
      this.error.hidden = false;
    }
    this.refresh();
  }
}

document.querySelectorAll("[data-vod-dashboard]").forEach((root) => new VodDashboard(root));
