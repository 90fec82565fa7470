// The room websocket: batch frames in, one DOM-style event per server event out. Survives dropped
// connections: reconnects with exponential backoff and jitter, then asks for what it missed by `seq`
// and drops what it already had, so listeners see each message once.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const CLOSE_NO_ROOM = 4404; // the room is gone: asking again cannot help
const SEEN_LIMIT = 1000; // more than the server's recent list (100), so a resume never shows a repeat

export class RoomSocket extends EventTarget {
  constructor(roomId) {
    super();
    this.roomId = String(roomId);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = `${scheme}://${location.host}/ws/rooms/${this.roomId}/`;
    this.lastSeq = 0;
    this.seen = new Set(); // message keys ("chat:12") and seqs of other events
    this.attempt = 0;
    this.framesSinceOpen = 0;
    this.socket = null;
    this.timer = null;
    this.connect();
  }

  get open() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Send a client frame; false when not connected (the caller keeps the user's text). */
  send(frame) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.framesSinceOpen = 0;
      if (this.lastSeq > 0) socket.send(JSON.stringify({ type: "resume", after_seq: this.lastSeq }));
      this.dispatchEvent(new Event("open"));
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.dispatchEvent(new Event("close"));
      if (event.code !== CLOSE_NO_ROOM) this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    clearTimeout(this.timer);
    const ceiling = Math.min(BACKOFF_MAX_MS, 2 * BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    // Half fixed, half random (0.5-1 s first, 7.5-15 s at most): a server restart must not see every
    // viewer come back in the same instant.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // not ours to show; the next frame will be fine
    }
    // The server's first frame on a connection is its snapshot of the recent past (late joiners and
    // reconnects): listeners list those messages but don't replay them as if they were said just now.
    const backlog = this.framesSinceOpen === 0;
    this.framesSinceOpen += 1;
    const events = frame?.type === "batch" ? frame.events : [frame];
    if (!Array.isArray(events)) return;
    for (const event of events) {
      if (event && typeof event.type === "string" && this.isNew(event)) this.emit(event, backlog);
    }
  }

  isNew(event) {
    // Acks and errors come once, straight to this socket, outside the room's sequence.
    if (event.type === "ack" || event.type === "error") return true;
    if (typeof event.seq === "number" && event.seq > this.lastSeq) this.lastSeq = event.seq;
    let key = null;
    if ((event.type === "chat" || event.type === "danmaku") && event.id != null) key = `msg:${event.id}`;
    else if (typeof event.seq === "number") key = `seq:${event.seq}`;
    if (key === null) return true;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
    return true;
  }

  emit(event, backlog) {
    this.dispatchEvent(Object.assign(new CustomEvent(event.type, { detail: event }), { backlog }));
    if (event.type === "room_state" || event.type === "viewers") {
      document.dispatchEvent(
        new CustomEvent(`streamlite:${event.type}`, { detail: { ...event, room_id: this.roomId } }),
      );
    }
  }
}
