// Clips: the Clip button of a live room, the range maker of a VOD page, and on a clip page its rename
// form, its delete button and the wait for a clip still being made.
const POLL_MS = 1000;
const POLL_LIMIT = 120;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : match ? decodeURIComponent(match[1]) : "";
}

async function send(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data?.error?.message || String(response.status));
  return data;
}

async function waitReady(apiUrl) {
  for (let i = 0; i < POLL_LIMIT; i++) {
    const clip = await send(apiUrl, "GET");
    if (clip.status !== "processing") return clip;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(gettext("The clip is taking long; look for it on the room page later."));
}

function showResult(status, clip) {
  status.textContent = "";
  if (clip.status === "ready") {
    const link = document.createElement("a");
    link.href = clip.url;
    link.textContent = gettext("Your clip is ready: watch it");
    status.append(link);
  } else {
    status.textContent = clip.failure_reason || gettext("The clip could not be made.");
  }
}

// Live room and VOD page: <form data-clip-maker="<api url>"> with a seconds select or start/end inputs.
function bindMaker(form) {
  const status = form.querySelector("[data-clip-status]");
  form.querySelectorAll("[data-clip-now]").forEach((button) => {
    button.addEventListener("click", () => {
      const video = document.querySelector("video");
      const input = form.elements[button.dataset.clipNow];
      if (video && input) input.value = String(Math.floor(video.currentTime));
    });
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const body = {};
    for (const name of ["seconds", "start_s", "end_s"]) {
      if (form.elements[name]) body[name] = Number(form.elements[name].value);
    }
    button.disabled = true;
    status.textContent = gettext("Making the clip…");
    try {
      const clip = await send(form.dataset.clipMaker, "POST", body);
      showResult(status, await waitReady(`/api/clips/${encodeURIComponent(clip.slug)}/`));
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
}

function bindRename(form) {
  const status = form.querySelector(".clip-rename__status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const clip = await send(form.dataset.clipRename, "PATCH", { title: form.elements.title.value });
      document.querySelectorAll("[data-clip-title]").forEach((title) => (title.textContent = clip.title));
      status.textContent = gettext("Saved.");
    } catch (error) {
      status.textContent = error.message;
    }
  });
}

function bindDelete(button) {
  button.addEventListener("click", async () => {
    if (!window.confirm(gettext("Delete this clip for everyone?"))) return;
    try {
      await send(button.dataset.clipDelete, "DELETE");
      location.assign(button.dataset.after);
    } catch (error) {
      window.alert(error.message);
    }
  });
}

document.querySelectorAll("[data-clip-maker]").forEach(bindMaker);
document.querySelectorAll("[data-clip-rename]").forEach(bindRename);
document.querySelectorAll("[data-clip-delete]").forEach(bindDelete);
const pending = document.querySelector("[data-clip-pending]");
if (pending && pending.textContent.trim()) {
  waitReady(pending.dataset.clipPending)
    .then((clip) => clip.status === "ready" && location.reload())
    .catch(() => {});
}
