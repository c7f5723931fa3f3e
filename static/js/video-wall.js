/* The video wall: 1/4/9/16 tiles of live video, cameras dragged from the side list (or added with
 * Enter), a tile enlarged with double-click or Enter (main stream; Escape goes back to the sub
 * stream grid), layouts saved per user through /api/v1/wall-layouts/.
 *
 * Server data: #wall-config (URLs, the camera asked for with ?camera=). The wall in use is kept in
 * localStorage, so a reload shows the same cameras. Strings come from Django's JavaScript catalogue.
 */
/* global gettext, interpolate */
import { LivePlayer } from "./live-player.js";

const $ = (sel, root = document) => root.querySelector(sel);
const config = JSON.parse($("#wall-config").textContent);
const gridEl = $("#wall-grid");
const template = $("#wall-tile-template");
const list = $("#wall-camera-list");
const filter = $("#wall-filter");
const layoutForm = $("#wall-layouts");
const layoutSelect = $("#wall-layout-select");
const layoutName = $("#wall-layout-name");
const layoutMessage = $("#wall-layout-message");
const csrf = layoutForm.querySelector("input[name=csrfmiddlewaretoken]").value;
const STORE = `gwanje.wall.current.${config.user}`;
const DRAG_TYPE = "application/x-gwanje-camera";

const state = { grid: 4, cells: [], enlarged: null, layouts: [] };
const tiles = []; // {el, video, player, camera}

// --- tiles ------------------------------------------------------------------------------------------
function columns(grid) {
  return Math.round(Math.sqrt(grid));
}

function render() {
  for (const tile of tiles) tile.player?.stop();
  tiles.length = 0;
  gridEl.replaceChildren();
  gridEl.dataset.grid = String(state.grid);
  gridEl.style.setProperty("--columns", String(columns(state.grid)));
  for (let i = 0; i < state.grid; i++) {
    const el = template.content.firstElementChild.cloneNode(true);
    el.dataset.index = String(i);
    const tile = { el, video: $("video", el), player: null, camera: null };
    tiles.push(tile);
    wireTile(tile, i);
    gridEl.append(el);
    setTile(i, state.cells[i] || null, { save: false });
  }
  for (const button of document.querySelectorAll(".wall-grid-button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.grid) === state.grid));
  }
  state.enlarged = null;
  gridEl.classList.remove("enlarged");
}

function setTile(i, camera, { save = true } = {}) {
  const tile = tiles[i];
  if (!tile) return;
  tile.player?.stop();
  tile.player = null;
  tile.camera = camera;
  state.cells[i] = camera;
  const el = tile.el;
  el.classList.toggle("occupied", Boolean(camera));
  $(".tile-label", el).textContent = camera ? camera.label : "";
  $(".tile-stream", el).textContent = "";
  el.setAttribute("aria-label", camera
    ? interpolate(gettext("Tile %(n)s: %(camera)s"), { n: i + 1, camera: camera.label }, true)
    : interpolate(gettext("Tile %(n)s: empty"), { n: i + 1 }, true));
  el.dataset.cameraId = camera ? String(camera.id) : "";
  if (camera) {
    tile.player = new LivePlayer(tile.video, {
      camera: camera.id,
      stream: state.enlarged === i ? "main" : "sub",
      statusEl: $(".tile-status", el),
    });
    $(".tile-stream", el).textContent = tile.player.stream === "main" ? gettext("Main stream") : gettext("Sub stream");
    if (state.enlarged === null || state.enlarged === i) tile.player.start();
  } else {
    const status = $(".tile-status", el);
    status.textContent = "";
    status.hidden = true;
    tile.video.removeAttribute("src");
    delete tile.video.dataset.state;
  }
  if (save) remember();
}

function firstFree() {
  const i = tiles.findIndex((t) => !t.camera);
  return i;
}

function addCamera(camera, index = null) {
  let i = index ?? firstFree();
  if (i < 0) {
    const bigger = config.grids.find((n) => n > state.grid);
    if (bigger) {
      state.grid = bigger;
      render();
      i = firstFree();
    } else {
      i = state.grid - 1; // a full 16-tile wall: the last tile is replaced
    }
  }
  setTile(i, camera);
  return i;
}

function enlarge(i) {
  const tile = tiles[i];
  if (!tile?.camera) return;
  state.enlarged = i;
  gridEl.classList.add("enlarged");
  tiles.forEach((t, j) => {
    t.el.classList.toggle("big", j === i);
    if (j !== i) t.player?.stop();
  });
  tile.player.setStream("main");
  tile.player.start();
  $(".tile-stream", tile.el).textContent = gettext("Main stream");
  tile.el.focus();
}

function shrink() {
  const i = state.enlarged;
  if (i === null) return;
  state.enlarged = null;
  gridEl.classList.remove("enlarged");
  tiles.forEach((t, j) => {
    t.el.classList.remove("big");
    if (j === i) {
      t.player?.setStream("sub");
      $(".tile-stream", t.el).textContent = gettext("Sub stream");
    }
    t.player?.start();
  });
  tiles[i]?.el.focus();
}

function wireTile(tile, i) {
  const el = tile.el;
  el.addEventListener("dblclick", () => (state.enlarged === i ? shrink() : enlarge(i)));
  el.addEventListener("keydown", (event) => {
    if (event.target !== el) return;
    if (event.key === "Enter") {
      event.preventDefault();
      if (state.enlarged === i) shrink(); else enlarge(i);
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      if (state.enlarged === i) shrink();
      setTile(i, null);
    } else if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key) && state.enlarged === null) {
      event.preventDefault();
      const cols = columns(state.grid);
      const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols }[event.key];
      tiles[Math.min(state.grid - 1, Math.max(0, i + step))].el.focus();
    }
  });
  $(".tile-remove", el).addEventListener("click", (event) => {
    event.stopPropagation();
    if (state.enlarged === i) shrink();
    setTile(i, null);
  });
  el.draggable = true;
  el.addEventListener("dragstart", (event) => {
    if (!tile.camera) { event.preventDefault(); return; }
    event.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ ...tile.camera, fromTile: i }));
    event.dataTransfer.effectAllowed = "move";
  });
  el.addEventListener("dragover", (event) => {
    if (event.dataTransfer.types.includes(DRAG_TYPE)) {
      event.preventDefault();
      el.classList.add("drop-target");
    }
  });
  el.addEventListener("dragleave", () => el.classList.remove("drop-target"));
  el.addEventListener("drop", (event) => {
    el.classList.remove("drop-target");
    const raw = event.dataTransfer.getData(DRAG_TYPE);
    if (!raw) return;
    event.preventDefault();
    const dropped = JSON.parse(raw);
    const camera = { id: Number(dropped.id), label: String(dropped.label) };
    if (Number.isInteger(dropped.fromTile) && dropped.fromTile !== i) {
      const other = tiles[i].camera; // swap the two tiles
      setTile(dropped.fromTile, other);
    }
    setTile(i, camera);
  });
}

// --- the camera list -------------------------------------------------------------------------------
function cameraFromButton(button) {
  return { id: Number(button.dataset.cameraId), label: button.dataset.label };
}

list.addEventListener("dragstart", (event) => {
  const button = event.target.closest(".wall-camera");
  if (!button) return;
  event.dataTransfer.setData(DRAG_TYPE, JSON.stringify(cameraFromButton(button)));
  event.dataTransfer.effectAllowed = "copy";
});
list.addEventListener("click", (event) => {
  const button = event.target.closest(".wall-camera");
  if (!button) return;
  const i = addCamera(cameraFromButton(button));
  tiles[i]?.el.focus();
});

function renderList(rows) {
  const items = rows.map((c) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "wall-camera";
    button.draggable = true;
    button.dataset.cameraId = String(c.id);
    button.dataset.label = c.label;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = c.status_colour;
    swatch.title = c.status_label;
    const label = document.createElement("span");
    label.className = "wall-camera-label";
    label.textContent = c.label;
    const name = document.createElement("small");
    name.className = "hint";
    name.textContent = c.name;
    button.append(swatch, label, " ", name);
    if (!c.live) {
      button.dataset.noStream = "true";
      const badge = document.createElement("small");
      badge.className = "badge inactive";
      badge.textContent = gettext("no stream");
      button.append(" ", badge);
    }
    li.append(button);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = gettext("No camera matches.");
    items.push(li);
  }
  list.replaceChildren(...items);
}

let filterTimer = null;
let filterSeq = 0;
filter.addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(async () => {
    const seq = ++filterSeq;
    try {
      const url = `${config.camerasUrl}?${new URLSearchParams({ q: filter.value.trim() })}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      if (seq === filterSeq) renderList(data.results);
    } catch (err) {
      if (seq === filterSeq) list.replaceChildren(Object.assign(document.createElement("li"), {
        className: "hint error", textContent: gettext("The cameras could not be loaded."),
      }));
    }
  }, 250);
});
filter.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown") {
    event.preventDefault();
    list.querySelector(".wall-camera")?.focus();
  }
});

// --- grid size and keyboard -------------------------------------------------------------------------
for (const button of document.querySelectorAll(".wall-grid-button")) {
  button.addEventListener("click", () => {
    state.grid = Number(button.dataset.grid);
    state.cells = state.cells.slice(0, state.grid);
    render();
    remember();
  });
}
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.enlarged !== null) {
    event.preventDefault();
    shrink();
  }
});

// --- layouts ----------------------------------------------------------------------------------------
function remember() {
  const cells = state.cells.slice(0, state.grid).map((c) => (c ? { id: c.id, label: c.label } : null));
  try {
    localStorage.setItem(STORE, JSON.stringify({ grid: state.grid, cells }));
  } catch (err) { /* private mode: the wall is not remembered */ }
}

function say(text, isError = false) {
  layoutMessage.textContent = text;
  layoutMessage.classList.toggle("error", isError);
}

async function api(url, options = {}) {
  const response = await fetch(url, {
    ...options,
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
    credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.errors?.map((e) => e.message).join(" ") || gettext("The request failed.");
    throw new Error(message);
  }
  return data;
}

async function loadLayoutList(selectName = null) {
  try {
    state.layouts = await api(config.layoutsUrl);
  } catch (err) {
    say(err.message, true);
    return;
  }
  const options = [new Option("—", "")];
  for (const layout of state.layouts) options.push(new Option(`${layout.name} (${layout.grid})`, String(layout.id)));
  layoutSelect.replaceChildren(...options);
  if (selectName) {
    const found = state.layouts.find((l) => l.name === selectName);
    if (found) layoutSelect.value = String(found.id);
  }
}

async function labels(ids) {
  if (!ids.length) return new Map();
  const response = await fetch(`${config.camerasUrl}?${new URLSearchParams({ ids: ids.join(",") })}`);
  const data = response.ok ? await response.json() : { results: [] };
  return new Map(data.results.map((c) => [c.id, c]));
}

async function applyLayout(layout) {
  const ids = layout.cells.filter((c) => c !== null);
  const known = await labels(ids);
  state.grid = layout.grid;
  state.cells = layout.cells.map((id) => (id !== null && known.has(id) ? { id, label: known.get(id).label } : null));
  render();
  remember();
  layoutName.value = layout.name;
  gridEl.dataset.layout = layout.name;
}

$("#wall-layout-load").addEventListener("click", async () => {
  const layout = state.layouts.find((l) => String(l.id) === layoutSelect.value);
  if (!layout) { say(gettext("Choose a saved layout first."), true); return; }
  await applyLayout(layout);
  say(interpolate(gettext("Layout “%s” loaded."), [layout.name]));
});

$("#wall-layout-delete").addEventListener("click", async () => {
  const layout = state.layouts.find((l) => String(l.id) === layoutSelect.value);
  if (!layout) { say(gettext("Choose a saved layout first."), true); return; }
  try {
    await api(`${config.layoutsUrl}${layout.id}/`, { method: "DELETE" });
    say(interpolate(gettext("Layout “%s” deleted."), [layout.name]));
    await loadLayoutList();
  } catch (err) {
    say(err.message, true);
  }
});

layoutForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = layoutName.value.trim();
  if (!name) { say(gettext("Give the layout a name."), true); layoutName.focus(); return; }
  const body = JSON.stringify({ name, grid: state.grid, cells: state.cells.slice(0, state.grid).map((c) => (c ? c.id : null)) });
  const existing = state.layouts.find((l) => l.name === name);
  try {
    if (existing) await api(`${config.layoutsUrl}${existing.id}/`, { method: "PUT", body });
    else await api(config.layoutsUrl, { method: "POST", body });
    say(interpolate(gettext("Layout “%s” saved."), [name]));
    await loadLayoutList(name);
  } catch (err) {
    say(err.message, true);
  }
});

// --- start ------------------------------------------------------------------------------------------
function restore() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) || "null");
    if (saved && config.grids.includes(saved.grid) && Array.isArray(saved.cells)) {
      state.grid = saved.grid;
      state.cells = saved.cells.slice(0, saved.grid).map((c) =>
        (c && Number.isInteger(c.id) ? { id: c.id, label: String(c.label) } : null));
    }
  } catch (err) { /* a damaged entry: start empty */ }
}

restore();
render();
if (config.addCamera) {
  const already = tiles.findIndex((t) => t.camera?.id === config.addCamera.id);
  const i = already >= 0 ? already : addCamera({ id: config.addCamera.id, label: config.addCamera.label });
  tiles[i]?.el.focus();
  history.replaceState(null, "", window.location.pathname);
}
loadLayoutList();
window.addEventListener("pagehide", () => tiles.forEach((t) => t.player?.stop()));
