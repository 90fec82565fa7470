// Emotes: ":name:" in a message becomes that emote's picture when this page knows the name (the room's
// emote map from the websocket; the emote APIs on the VOD page). The text is never parsed as HTML: it
// goes in as text nodes, and each picture is an <img> built here with a URL from the map.

export const EMOTE_PATTERN = /:([A-Za-z0-9_]{2,32}):/g;

function safeUrl(url) {
  try {
    const parsed = new URL(String(url), location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The name -> {name, url} map a page renders with; room emotes win over site emotes of the same name. */
export function emoteMapFill(map, emotes) {
  map.clear();
  const ordered = [...(emotes || [])].sort((a, b) => (a.scope === "room") - (b.scope === "room"));
  for (const emote of ordered) {
    const url = safeUrl(emote?.url);
    if (typeof emote?.name === "string" && url) map.set(emote.name, { name: emote.name, url, scope: emote.scope });
  }
  return map;
}

export function emoteImage(emote) {
  const image = document.createElement("img");
  image.className = "emote";
  image.src = emote.url;
  image.alt = `:${emote.name}:`;
  image.title = `:${emote.name}:`;
  image.draggable = false;
  image.decoding = "async";
  return image;
}

/** Fill ``target`` with ``text``, each known ":name:" shown as its emote. */
export function renderText(target, text, emotes) {
  const value = String(text ?? "");
  if (!emotes || emotes.size === 0) {
    target.textContent = value;
    return;
  }
  const parts = [];
  let last = 0;
  for (const match of value.matchAll(EMOTE_PATTERN)) {
    const emote = emotes.get(match[1]);
    if (!emote) continue;
    if (match.index > last) parts.push(value.slice(last, match.index));
    parts.push(emoteImage(emote));
    last = match.index + match[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  target.replaceChildren(...parts);
}

/** Fetch the emote lists of the given API URLs (site, room) into one map; failures leave names as text. */
export async function emoteMapLoad(map, urls) {
  const lists = await Promise.all(
    urls.map((url) =>
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : []))
        .catch(() => []),
    ),
  );
  return emoteMapFill(map, lists.flatMap((list) => (Array.isArray(list) ? list : list.results || [])));
}
