// Follow / unfollow and the go-live bell without a reload, through the JSON API with the session
// cookie (DRF's SessionAuthentication wants the CSRF token in X-CSRFToken). Every widget is a
// [data-follow] element rendered by templates/includes/follow_button.html; the labels come from the
// JavaScript catalogue (gettext, base.html).

const LOCALE = document.documentElement.lang || undefined;
const LABELS = {
  follow: () => gettext("Follow"),
  following: () => gettext("Following"),
  unfollow: () => gettext("Unfollow"),
  bellOn: () => gettext("Go-live alerts on: click to turn off"),
  bellOff: () => gettext("Go-live alerts off: click to turn on"),
  failed: () => gettext("That did not work. Please try again."),
};

function followerCount(count) {
  const shown = new Intl.NumberFormat(LOCALE).format(count);
  return interpolate(ngettext("%(count)s follower", "%(count)s followers", count), { count: shown }, true);
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

async function call(method, username, body) {
  const response = await fetch(`/api/users/${encodeURIComponent(username)}/follow/`, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = "";
    try {
      message = (await response.json()).error?.message ?? "";
    } catch {
      // Not the API's JSON error shape (a proxy error page): the generic label says enough.
    }
    throw new Error(message);
  }
  return response;
}

function render(widget) {
  const following = widget.dataset.following === "true";
  const notify = widget.dataset.notify === "true";
  const button = widget.querySelector(".js-follow");
  const bell = widget.querySelector(".js-follow-bell");
  button.textContent = following ? LABELS.following() : LABELS.follow();
  button.setAttribute("aria-pressed", String(following));
  button.classList.toggle("btn--primary", !following);
  button.classList.toggle("btn--ghost", following);
  bell.hidden = !following;
  bell.setAttribute("aria-pressed", String(notify));
  bell.title = notify ? LABELS.bellOn() : LABELS.bellOff();
  const count = following ? widget.dataset.countFollowing : widget.dataset.countNotFollowing;
  if (count !== undefined) {
    document
      .querySelectorAll(`[data-follower-count-of="${CSS.escape(widget.dataset.username)}"]`)
      .forEach((element) => {
        element.textContent = followerCount(Number(count));
      });
  }
  widget.dispatchEvent(new CustomEvent("streamlite:follow", { bubbles: true, detail: { following, notify } }));
}

function fail(widget, error) {
  const button = widget.querySelector(".js-follow");
  button.title = error.message || LABELS.failed();
  button.classList.add("follow--failed");
}

async function busy(widget, action) {
  widget.querySelectorAll("button").forEach((button) => (button.disabled = true));
  widget.querySelector(".js-follow").classList.remove("follow--failed");
  try {
    await action();
    render(widget);
  } catch (error) {
    fail(widget, error);
  } finally {
    widget.querySelectorAll("button").forEach((button) => (button.disabled = false));
  }
}

function wire(widget) {
  const button = widget.querySelector(".js-follow");
  const bell = widget.querySelector(".js-follow-bell");
  button.disabled = false;
  button.addEventListener("click", () =>
    busy(widget, async () => {
      const following = widget.dataset.following === "true";
      await call(following ? "DELETE" : "POST", widget.dataset.username);
      widget.dataset.following = String(!following);
      // A new follow starts with alerts on (the API's default).
      if (!following) widget.dataset.notify = "true";
    }),
  );
  bell.addEventListener("click", () =>
    busy(widget, async () => {
      const response = await call("PATCH", widget.dataset.username, {
        notify: widget.dataset.notify !== "true",
      });
      widget.dataset.notify = String((await response.json()).notify);
    }),
  );
  // Hovering "Following" offers the way out, as the label says what a click does.
  button.addEventListener("mouseenter", () => {
    if (widget.dataset.following === "true") button.textContent = LABELS.unfollow();
  });
  button.addEventListener("mouseleave", () => {
    if (widget.dataset.following === "true") button.textContent = LABELS.following();
  });
}

document.querySelectorAll("[data-follow]").forEach(wire);
