/* Live video in a <video> element: fragmented MP4 over a WebSocket into Media Source Extensions.
 *
 * The server (gwanje/video/live) sends on /ws/live/<camera>/<main|sub>/:
 *   text "avc1.640028"   the codec: (re)create the MediaSource and its SourceBuffer
 *   binary               the init segment, then media fragments (moof+mdat) from a keyframe on
 *   text "status:<word>" connecting | reconnecting | unavailable
 * and closes with 4401 (not signed in), 4403 (not allowed), 4404 (no stream), 4422 (bad stream URL).
 *
 * The buffer is kept short: the playhead follows the live edge (a little faster when behind, a jump
 * when more than MAX_BEHIND s behind), old ranges are removed. A dropped connection is retried with
 * back-off; refusals are shown and not retried. Strings come from Django's JavaScript catalogue.
 *
 * Pages that only show one camera mark the element: <video data-live-autostart data-camera="12"
 * data-stream="main" aria-describedby="status-element-id">; this module starts those itself.
 */
/* global gettext, interpolate */

const MAX_BEHIND = 1.0; // seconds behind the live edge before jumping to it
const TARGET_BEHIND = 0.3; // where a jump lands
const CATCH_UP = 0.5; // beyond this, play slightly faster
const FRESH_MS = 1500; // after a (re)start, how long every append may jump to the live edge
const KEEP_SECONDS = 6; // buffer kept behind the playhead
const MAX_PENDING = 60; // queued appends before starting afresh (a hidden or starved tab)
const BACKOFF = [1000, 2000, 4000, 8000, 15000];
const FINAL_CODES = new Set([4401, 4403, 4404, 4422]);


function closeMessage(code) {
  switch (code) {
    case 4401: return gettext("Your session has ended or the second sign-in step is missing. Sign in again to watch live video.");
    case 4403: return gettext("You may not watch this camera. Police officers need an open incident's video grant for it.");
    case 4404: return gettext("This camera has no live stream.");
    case 4422: return gettext("The camera's stream address is not valid. Ask the IT administrator to correct it.");
    default: return gettext("The live stream was interrupted. Reconnecting…");
  }
}

function statusMessage(word) {
  switch (word) {
    case "connecting": return gettext("Connecting to the camera…");
    case "reconnecting": return gettext("The camera stream was interrupted. Reconnecting…");
    case "unavailable": return gettext("The camera does not answer. Retrying…");
    default: return "";
  }
}

export function liveSocketUrl(camera, stream) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}/ws/live/${encodeURIComponent(camera)}/${stream}/`;
}

export class LivePlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{camera: number|string, stream?: "main"|"sub", statusEl?: HTMLElement, onState?: Function}} options
   */
  constructor(video, { camera, stream = "sub", statusEl = null, onState = null } = {}) {
    this.video = video;
    this.camera = camera;
    this.stream = stream;
    this.statusEl = statusEl;
    this.onState = onState;
    this.ws = null;
    this.mediaSource = null;
    this.sourceBuffer = null;
    this.pending = [];
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = true;
    this.codec = "";
    this._onVideoProgress = () => this._keepLive();
    video.muted = true;
    video.playsInline = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.video.addEventListener("timeupdate", this._onVideoProgress);
    if (!("MediaSource" in window)) {
      this._setState("error", gettext("This browser cannot play live video (no Media Source Extensions)."));
      return;
    }
    this._connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.video.removeEventListener("timeupdate", this._onVideoProgress);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
    this._detach();
    this._setState("stopped", "");
  }

  setStream(stream) {
    if (stream === this.stream) return;
    this.stream = stream;
    if (!this.stopped) {
      this.stop();
      this.start();
    }
  }

  // --- the socket --------------------------------------------------------------------------------
  _connect() {
    this._setState("connecting", statusMessage("connecting"));
    const ws = new WebSocket(liveSocketUrl(this.camera, this.stream));
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this._text(event.data);
      else this._binary(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (FINAL_CODES.has(event.code)) {
        this._detach();
        this.stopped = true;
        this._setState("error", closeMessage(event.code), event.code);
        return;
      }
      this._retry();
    };
    this.ws = ws;
  }

  _retry() {
    const delay = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
    this.attempt += 1;
    this._setState("reconnecting", closeMessage(0));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this._connect();
    }, delay);
  }

  _restart() {
    // Start afresh on a new socket: a new init segment and a keyframe come first.
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000);
    }
    this._detach();
    if (!this.stopped) this._connect();
  }

  _text(text) {
    if (text.startsWith("status:")) {
      const word = text.slice(7);
      this._setState(word === "connecting" ? "connecting" : "waiting", statusMessage(word));
      return;
    }
    this._attach(text);
  }

  _binary(data) {
    if (!this.mediaSource) return;
    this.pending.push(data);
    if (this.pending.length > MAX_PENDING) {
      this._restart();
      return;
    }
    this._pump();
  }

  // --- Media Source Extensions -------------------------------------------------------------------
  _attach(codec) {
    this._detach();
    const mime = `video/mp4; codecs="${codec}"`;
    if (!MediaSource.isTypeSupported(mime)) {
      this.stopped = true;
      if (this.ws) { this.ws.onclose = null; this.ws.close(1000); this.ws = null; }
      this._setState("error", interpolate(gettext("This browser cannot play the camera's video format (%s)."), [codec]));
      return;
    }
    this.codec = codec;
    this.freshUntil = 0;
    const mediaSource = new MediaSource();
    this.mediaSource = mediaSource;
    this.pending = [];
    const url = URL.createObjectURL(mediaSource);
    mediaSource.addEventListener("sourceopen", () => {
      URL.revokeObjectURL(url);
      if (this.mediaSource !== mediaSource) return;
      try {
        const sb = mediaSource.addSourceBuffer(mime);
        sb.mode = "segments";
        sb.addEventListener("updateend", () => this._afterAppend());
        sb.addEventListener("error", () => this._restart());
        this.sourceBuffer = sb;
        this._pump();
      } catch (err) {
        this._setState("error", interpolate(gettext("This browser cannot play the camera's video format (%s)."), [codec]));
      }
    }, { once: true });
    this.video.src = url;
  }

  _detach() {
    this.pending = [];
    this.sourceBuffer = null;
    if (this.mediaSource) {
      this.mediaSource = null;
      this.video.removeAttribute("src");
      this.video.load();
    }
  }

  _pump() {
    const sb = this.sourceBuffer;
    if (!sb || sb.updating || !this.pending.length || this.mediaSource?.readyState !== "open") return;
    if (this._trim()) return; // removal runs; updateend calls back here
    const data = this.pending.shift();
    try {
      sb.appendBuffer(data);
    } catch (err) {
      if (err.name === "QuotaExceededError") {
        this.pending.unshift(data);
        this._trim(true);
      } else {
        this._restart();
      }
    }
  }

  _trim(force = false) {
    const sb = this.sourceBuffer;
    const buffered = sb.buffered;
    if (!buffered.length) return false;
    const now = this.video.currentTime;
    const start = buffered.start(0);
    if (now - start > KEEP_SECONDS * 2 || (force && now - start > 1)) {
      sb.remove(start, Math.max(start + 0.1, now - (force ? 0.5 : KEEP_SECONDS)));
      return true;
    }
    return false;
  }

  _afterAppend() {
    this._keepLive();
    this._pump();
  }

  _keepLive() {
    const video = this.video;
    const buffered = video.buffered;
    if (!buffered.length || !this.sourceBuffer) return;
    const last = buffered.length - 1;
    const end = buffered.end(last);
    const start = buffered.start(last);
    const behind = end - video.currentTime;
    // A fresh start receives the video since the last keyframe in a burst: for a moment after the
    // first append, go to the live edge whenever behind it.
    if (!this.freshUntil) this.freshUntil = performance.now() + FRESH_MS;
    const fresh = performance.now() < this.freshUntil;
    if (video.currentTime < start || behind > MAX_BEHIND || (fresh && behind > TARGET_BEHIND + 0.2)) {
      video.currentTime = Math.max(start, end - TARGET_BEHIND);
    }
    video.playbackRate = behind > CATCH_UP ? 1.1 : 1.0;
    if (video.paused && video.readyState >= 2) {
      video.play().catch(() => {});
    }
    if (video.readyState >= 2 && this.state !== "playing") {
      this.attempt = 0;
      this._setState("playing", "");
      if (!performance.getEntriesByName("gwanje:live-playing").length) performance.mark("gwanje:live-playing");
    }
  }

  _setState(state, message, code = "") {
    this.state = state;
    this.video.dataset.state = state;
    if (code) this.video.dataset.closeCode = String(code);
    else delete this.video.dataset.closeCode;
    if (this.statusEl) {
      this.statusEl.textContent = message || "";
      this.statusEl.hidden = !message;
      this.statusEl.classList.toggle("error", state === "error");
    }
    if (this.onState) this.onState(state, message);
  }
}

// Single-camera pages: <video data-live-autostart data-camera=… data-stream=…>.
for (const video of document.querySelectorAll("video[data-live-autostart]")) {
  const statusId = video.getAttribute("aria-describedby");
  const player = new LivePlayer(video, {
    camera: video.dataset.camera,
    stream: video.dataset.stream === "sub" ? "sub" : "main",
    statusEl: statusId ? document.getElementById(statusId) : null,
  });
  player.start();
  window.addEventListener("pagehide", () => player.stop());
}
