// Share menus: the page's link (for a VOD, optionally at the player's current time), the embed code, and
// a copy button. Paths in the markup become absolute here, on this site's own address.
function absolute(path) {
  return new URL(path, location.origin).href;
}

function embedCode(path) {
  const src = absolute(path);
  return `<iframe src="${src}" width="640" height="360" frameborder="0" allow="autoplay; fullscreen" allowfullscreen></iframe>`;
}

function bind(menu) {
  const link = menu.querySelector("[data-share-link]");
  const embed = menu.querySelector("[data-share-embed]");
  const atTime = menu.querySelector("[data-share-at-time]");
  const refresh = () => {
    const url = new URL(absolute(link.dataset.path));
    const video = document.querySelector("video");
    if (atTime?.checked && video) url.searchParams.set("t", String(Math.floor(video.currentTime)));
    link.value = url.href;
  };
  refresh();
  if (embed) embed.value = embedCode(embed.dataset.path);
  menu.addEventListener("toggle", refresh);
  atTime?.addEventListener("change", refresh);
  menu.querySelector("[data-share-copy]")?.addEventListener("click", async () => {
    refresh();
    link.select();
    try {
      await navigator.clipboard.writeText(link.value);
    } catch {
      // No clipboard permission (plain HTTP, a frame): the selected text is there to copy by hand.
    }
  });
}

document.querySelectorAll("[data-share]").forEach(bind);
