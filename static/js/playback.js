/* Playback of recorded video: an HLS VOD playlist of the segment index played through hls.js (Media
 * Source Extensions; Chromium has no native HLS), a timeline of recorded ranges and gaps, seeking,
 * speeds ×1–×8, and the stream-time clock (EXT-X-PROGRAM-DATE-TIME) in Asia/Seoul.
 *
 * Server data: #playback-config (camera, initial time and timeline span, URLs). The visible timeline
 * window is one playlist (one access-log record); clicking inside it seeks without a new playlist.
 * For tests and the seek benchmark the page exposes its state on #playback: data-state (idle, loading,
 * playing, paused, empty, error), data-playing (stream time shown, ISO), data-seek-ms (click → first
 * new frame of the last timeline seek), and window.gwanjePlayback.
 */
/* global Hls, gettext, interpolate */

const $ = (sel, root = document) => root.querySelector(sel);
const config = JSON.parse($("#playback-config").textContent);
const root = $("#playback");
const video = $("#pb-video");
const clock = $("#pb-clock");
const message = $("#pb-message");
const timeline = $("#pb-timeline");
const track = $("#pb-track");
const cursor = $("#pb-cursor");
const axis = $("#pb-axis");
const summary = $("#pb-summary");
const timeInput = $("#pb-time");
const spanSelect = $("#pb-span");
const playButton = $("#pb-play");

const SEOUL_MS = 9 * 3600 * 1000; // Asia/Seoul is UTC+9 all year (no summer time)
// `s` is already translated (gettext("…") at the call, so that makemessages finds it)
const fmt = (s, o) => (typeof interpolate === "function" ? interpolate(s, o, !Array.isArray(o)) : s);

const state = {
  span: config.span, // seconds
  winStart: 0,
  winEnd: 0,
  ranges: [], // [{start, end}] ms
  gaps: [],
  hls: null,
  target: null, // ms to show once the playlist is loaded
  seekClick: null, // performance.now() of the last timeline click
  generation: 0,
};

// --- time helpers (all in ms since the epoch) -----------------------------------------------------
const pad = (n, w = 2) => String(n).padStart(w, "0");

function seoulParts(ms) {
  const d = new Date(ms + SEOUL_MS);
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
    ms: pad(d.getUTCMilliseconds(), 3),
  };
}
function seoulIso(ms, withMs = false) {
  const p = seoulParts(ms);
  return `${p.date}T${p.time}${withMs ? "." + p.ms : ""}+09:00`;
}
function seoulLocalInput(ms) {
  const p = seoulParts(ms);
  return `${p.date}T${p.time}`;
}
function parseLocalInput(value) {
  // datetime-local gives "YYYY-MM-DDTHH:MM" or "…:SS": the wall clock in Seoul, whatever the browser's zone
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(value || "")) return NaN;
  return Date.parse(value.length === 16 ? `${value}:00+09:00` : `${value}+09:00`);
}

// --- messages ---------------------------------------------------------------------------------------
function say(text) {
  message.textContent = text || "";
  message.hidden = !text;
}
function setState(name) {
  root.dataset.state = name;
  playButton.textContent = name === "paused" ? gettext("Play") : gettext("Pause");
}

// --- recordings and the timeline ------------------------------------------------------------------
async function fetchRecordings(start, end) {
  const url = `${config.recordingsUrl}?${new URLSearchParams({ start: seoulIso(start), end: seoulIso(end) })}`;
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.errors || []).map((e) => e.message).join(" ") || `HTTP ${r.status}`);
  return body;
}

function x(ms) {
  return ((ms - state.winStart) / (state.winEnd - state.winStart)) * 100;
}

function drawTimeline() {
  track.replaceChildren();
  const add = (cls, span, title) => {
    const el = document.createElement("div");
    el.className = cls;
    el.style.left = `${x(span.start)}%`;
    el.style.width = `${Math.max(x(span.end) - x(span.start), 0.15)}%`;
    el.dataset.start = seoulIso(span.start);
    el.dataset.end = seoulIso(span.end);
    el.title = title;
    track.append(el);
  };
  for (const r of state.ranges) add("rec", r, `${seoulParts(r.start).time} – ${seoulParts(r.end).time}`);
  for (const g of state.gaps) {
    const why = g.reasonLabel ? ` (${g.reasonLabel})` : "";
    add("gap", g, `${gettext("Not recorded")}${why}: ${seoulParts(g.start).time} – ${seoulParts(g.end).time}`);
  }
  // ticks
  axis.replaceChildren();
  const steps = [60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600];
  const span = (state.winEnd - state.winStart) / 1000;
  const step = (steps.find((s) => span / s <= 8) || steps[steps.length - 1]) * 1000;
  for (let t = Math.ceil((state.winStart + SEOUL_MS) / step) * step - SEOUL_MS; t <= state.winEnd; t += step) {
    const tick = document.createElement("span");
    tick.style.left = `${x(t)}%`;
    tick.textContent = seoulParts(t).time.slice(0, 5);
    axis.append(tick);
  }
  const startDay = seoulParts(state.winStart).date;
  const first = document.createElement("span");
  first.className = "day";
  first.textContent = startDay;
  axis.prepend(first);
}

// --- the player -------------------------------------------------------------------------------------
function fragments() {
  const hls = state.hls;
  if (!hls || !hls.levels || !hls.levels.length) return [];
  const level = hls.levels[Math.max(hls.currentLevel, 0)] || hls.levels[0];
  return (level.details && level.details.fragments) || [];
}

/** Media time (s) of stream time `ms`; inside a gap: the start of what follows; null after the end. */
function mediaTimeOf(ms) {
  for (const f of fragments()) {
    if (!Number.isFinite(f.programDateTime)) continue;
    const end = f.programDateTime + f.duration * 1000;
    if (ms < f.programDateTime) return f.start;
    if (ms < end) return f.start + (ms - f.programDateTime) / 1000;
  }
  return null;
}

/** Stream time (ms) shown now. */
function currentDate() {
  const hls = state.hls;
  if (!hls) return null;
  const d = hls.playingDate;
  if (d && Number.isFinite(d.getTime())) return d.getTime();
  const t = video.currentTime;
  for (const f of fragments()) {
    if (t >= f.start && t < f.start + f.duration && Number.isFinite(f.programDateTime)) {
      return f.programDateTime + (t - f.start) * 1000;
    }
  }
  return null;
}

function destroyPlayer() {
  if (state.hls) {
    state.hls.destroy();
    state.hls = null;
  }
  video.removeAttribute("src");
  video.load();
}

function seekTo(ms) {
  const pos = mediaTimeOf(ms);
  if (pos === null) return false;
  video.currentTime = pos;
  if (video.paused && root.dataset.state !== "paused") video.play().catch(() => {});
  return true;
}

function loadPlaylist(target, generation) {
  destroyPlayer();
  if (!window.Hls || !Hls.isSupported()) {
    setState("error");
    say(gettext("This browser cannot play recorded video (Media Source Extensions missing)."));
    return;
  }
  const hls = new Hls({
    enableWorker: false, // the Content-Security-Policy allows no blob: workers
    autoStartLoad: false,
    maxBufferLength: 20,
    maxMaxBufferLength: 60,
    backBufferLength: 30,
    startFragPrefetch: true,
  });
  state.hls = hls;
  const params = new URLSearchParams({ start: seoulIso(state.winStart), end: seoulIso(state.winEnd) });
  hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
    if (generation !== state.generation || hls.__started) return;
    hls.__started = true;
    const pos = mediaTimeOf(target);
    const start = pos === null ? 0 : pos;
    hls.startLoad(start);
    video.currentTime = start;
    video.playbackRate = currentRate();
    video.play().catch(() => {});
    if (!data.details.fragments.length) say(gettext("Nothing is recorded of this camera in this period."));
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal || generation !== state.generation) return;
    const code = data.response && data.response.code;
    const text = data.networkDetails && typeof data.networkDetails.responseText === "string"
      ? data.networkDetails.responseText.slice(0, 300)
      : "";
    setState("error");
    if (code === 403) say(text || gettext("You do not have permission for this action."));
    else if (code === 404) say(text || gettext("Nothing is recorded of this camera in this period."));
    else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      setState("loading");
    } else say(fmt(gettext("The video could not be loaded (%s)."), [text || data.details]));
  });
  hls.loadSource(`${config.playlistUrl}?${params}`);
  hls.attachMedia(video);
}

async function loadWindow(center) {
  const generation = ++state.generation;
  const now = Date.now();
  const spanMs = state.span * 1000;
  let start = center - spanMs / 2;
  let end = start + spanMs;
  if (end > now) {
    end = now;
    start = end - spanMs;
  }
  state.winStart = start;
  state.winEnd = end;
  state.ranges = [];
  state.gaps = [];
  setState("loading");
  say("");
  timeInput.value = seoulLocalInput(center);
  history.replaceState(null, "", `?${new URLSearchParams({ t: seoulIso(center), span: state.span })}`);
  drawTimeline();
  let body;
  try {
    body = await fetchRecordings(start, end);
  } catch (err) {
    if (generation !== state.generation) return;
    setState("error");
    say(err.message);
    return;
  }
  if (generation !== state.generation) return;
  state.ranges = body.ranges.map((r) => ({ start: Date.parse(r.start), end: Date.parse(r.end) }));
  state.gaps = body.gaps.map((g) => ({
    start: Date.parse(g.start),
    end: Date.parse(g.end),
    reasonLabel: g.reason_label,
  }));
  summary.textContent = fmt(gettext("%(segments)s segments, %(mb)s MB, %(minutes)s min in this window"), {
    segments: body.segment_count,
    mb: (body.bytes / 1e6).toFixed(1),
    minutes: (body.recorded_seconds / 60).toFixed(1),
  });
  drawTimeline();
  if (!state.ranges.length) {
    destroyPlayer();
    setState("empty");
    say(gettext("Nothing is recorded of this camera in this period."));
    return;
  }
  const inRange = state.ranges.find((r) => center < r.end);
  const target = inRange ? Math.max(center, inRange.start) : state.ranges[state.ranges.length - 1].start;
  loadPlaylist(target, generation);
}

function currentRate() {
  const pressed = document.querySelector(".pb-speeds button[aria-pressed=true]");
  return pressed ? Number(pressed.dataset.rate) : 1;
}

// --- the clock, the cursor, the seek measurement -----------------------------------------------------
function tick() {
  const ms = currentDate();
  if (ms !== null) {
    const p = seoulParts(ms);
    clock.textContent = `${p.date} ${p.time}`;
    root.dataset.playing = seoulIso(ms, true);
    if (ms >= state.winStart && ms <= state.winEnd) {
      cursor.hidden = false;
      cursor.style.left = `${x(ms)}%`;
    }
  }
}
video.addEventListener("timeupdate", tick);
video.addEventListener("playing", () => {
  if (!performance.getEntriesByName("gwanje:first-frame").length) performance.mark("gwanje:first-frame");
  setState("playing");
  say("");
  fillClipDefaults();
});
video.addEventListener("pause", () => {
  if (root.dataset.state === "playing") setState("paused");
});
setInterval(tick, 250);

function measureSeek() {
  const t0 = state.seekClick;
  if (t0 === null) return;
  const done = () => {
    if (state.seekClick !== t0) return;
    const ms = performance.now() - t0;
    root.dataset.seekMs = ms.toFixed(1);
    root.dataset.seeks = String(Number(root.dataset.seeks || 0) + 1);
    performance.mark("gwanje:seek-frame", { detail: { ms } });
    state.seekClick = null;
  };
  if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(done);
  else video.addEventListener("timeupdate", done, { once: true });
}
video.addEventListener("seeked", measureSeek);

// --- controls -----------------------------------------------------------------------------------------
timeline.addEventListener("click", (event) => {
  const box = timeline.getBoundingClientRect();
  const ms = state.winStart + ((event.clientX - box.left) / box.width) * (state.winEnd - state.winStart);
  const range = state.ranges.find((r) => ms < r.end);
  if (!range) {
    say(gettext("Nothing is recorded after that time in this window."));
    return;
  }
  const target = Math.max(ms, range.start); // in a gap: where recording resumes
  state.seekClick = performance.now();
  root.dataset.seekTarget = seoulIso(target, true);
  if (!seekTo(target)) state.seekClick = null;
});

playButton.addEventListener("click", () => {
  if (video.paused) {
    video.play().catch(() => {});
  } else {
    video.pause();
    setState("paused");
  }
});

for (const button of document.querySelectorAll(".pb-speeds button")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll(".pb-speeds button")) b.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    video.playbackRate = Number(button.dataset.rate);
  });
}

function shift(direction) {
  const center = (state.winStart + state.winEnd) / 2 + (direction * state.span * 1000) / 2;
  loadWindow(center);
}
$("#pb-earlier").addEventListener("click", () => shift(-1));
$("#pb-later").addEventListener("click", () => shift(1));

$("#pb-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const ms = parseLocalInput(timeInput.value);
  if (!Number.isFinite(ms)) {
    say(gettext("Choose a date and time."));
    return;
  }
  state.span = Number(spanSelect.value) || config.span;
  loadWindow(ms);
});
spanSelect.addEventListener("change", () => {
  state.span = Number(spanSelect.value) || config.span;
  loadWindow(currentDate() ?? (state.winStart + state.winEnd) / 2);
});

// --- snapshot and clip (video.export) -------------------------------------------------------------------
const snapshotLink = $("#pb-snapshot");
const liveSnapshotLink = $("#pb-live-snapshot");
const clipForm = $("#pb-clip");
const clipError = $("#pb-clip-error");
let clipTouched = false;

function fillClipDefaults() {
  if (!clipForm || clipTouched) return;
  const ms = currentDate();
  if (ms === null) return;
  $("#pb-clip-start").value = seoulLocalInput(ms);
  $("#pb-clip-end").value = seoulLocalInput(Math.min(ms + 60_000, Date.now()));
}

async function download(url, fallbackName) {
  clipError.hidden = true;
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) {
    const html = await r.text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    const text = doc.querySelector(".error-page p");
    clipError.textContent = text ? text.textContent : `HTTP ${r.status}`;
    clipError.hidden = false;
    return;
  }
  const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
  const blob = await r.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name ? name[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

if (snapshotLink) {
  snapshotLink.addEventListener("click", (event) => {
    event.preventDefault();
    const ms = currentDate();
    if (ms === null) {
      clipError.textContent = gettext("Play the video first: the snapshot is of the frame shown.");
      clipError.hidden = false;
      return;
    }
    download(`${config.snapshotUrl}?${new URLSearchParams({ t: seoulIso(ms, true) })}`, "snapshot.jpg");
  });
  liveSnapshotLink.addEventListener("click", (event) => {
    event.preventDefault();
    download(`${config.snapshotUrl}?live=1`, "snapshot.jpg");
  });
}
if (clipForm) {
  clipForm.addEventListener("input", () => {
    clipTouched = true;
  });
  clipForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const start = parseLocalInput($("#pb-clip-start").value);
    const end = parseLocalInput($("#pb-clip-end").value);
    let problem = "";
    if (!Number.isFinite(start) || !Number.isFinite(end)) problem = gettext("Choose the start and the end of the clip.");
    else if (end <= start) problem = gettext("The end must come after the start.");
    else if (end - start > config.clipMaxSeconds * 1000) problem = gettext("A clip is at most 30 minutes long.");
    else if (end > Date.now()) problem = gettext("The clip must end in the past.");
    clipError.textContent = problem;
    clipError.hidden = !problem;
    if (problem) return;
    // a navigation, not a fetch: a clip may be hundreds of MB (the browser saves it as it arrives)
    window.location.href = `${config.exportUrl}?${new URLSearchParams({ start: seoulIso(start), end: seoulIso(end) })}`;
  });
}

window.gwanjePlayback = { loadWindow, seekTo, currentDate, state, video };
loadWindow(Date.parse(config.t));
