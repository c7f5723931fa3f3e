/* The map console: the map, the camera filter, the legend, the camera card and "cameras near here".
 *
 * Server data: #console-config (URLs, initial extent, tiles), #status-legend (CameraStatus values,
 * labels and colours). Strings go through Django's JavaScript catalog (gettext/ngettext/interpolate).
 * The cameras come from the compact endpoint /map/cameras.json with the CameraFilterSet parameters of
 * the filter form; the first request is started by an inline script in the page head.
 */
/* global ol, gettext, ngettext, interpolate, htmx */
import { CameraLayer, toMercator } from "./camera-layer.js";
import { createOverlays } from "./map-layers.js";

const $ = (sel, root = document) => root.querySelector(sel);
const config = JSON.parse($("#console-config").textContent);
const statusLegend = JSON.parse($("#status-legend").textContent);
const statusIndex = new Map(statusLegend.map((s, i) => [s.value, i]));
const numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);

const root = $("#console");
const mapEl = $("#map");
const form = $("#filter-form");
const search = $("#search");
const countEl = $("#camera-count");
const side = $("#side-panel");
const card = $("#card");
const nearby = $("#nearby");
const messageEl = $("#console-message");

const css = getComputedStyle(root);
const v = (name) => css.getPropertyValue(name).trim();
const theme = {
  font: v("--map-font"), land: v("--map-land"), district: v("--layer-district"), dongs: v("--layer-dongs"),
  label: v("--map-label"), police: v("--layer-police"), zones: v("--layer-zones"),
  clusterFill: v("--map-cluster-fill"), clusterText: v("--map-cluster-text"), dotOutline: v("--map-dot-outline"),
  selected: v("--map-selected"), query: v("--map-query"),
};

// --- the map -------------------------------------------------------------------------------------
let firstRender = true;
const cameras = new CameraLayer({
  colours: statusLegend.map((s) => s.colour),
  theme,
  onRender(stats) {
    const ds = mapEl.dataset;
    if (ds.drawn !== String(stats.groups)) ds.drawn = stats.groups;
    if (ds.drawnCameras !== String(stats.cameras)) ds.drawnCameras = stats.cameras;
    ds.mode = stats.clustered ? "clusters" : "points";
    if (firstRender && stats.version > 0) {
      firstRender = false;
      requestAnimationFrame(() => {
        performance.mark("gwanje:cameras-rendered");
        window.__gwanjeRendered = { ...stats, ms: performance.now() };
        ds.rendered = "true";
      });
    }
  },
});

const toggles = $("#layer-toggles");
const initiallyOn = (name) => Boolean(toggles.querySelector(`input[value="${name}"]:checked`));
const overlays = createOverlays(config.layers, theme,
  Object.fromEntries(["district", "dongs", "police", "zones"].map((n) => [n, initiallyOn(n)])));

const layers = [];
let baseLayer = null;
if (config.tileUrl) {
  baseLayer = new ol.layer.Tile({
    source: new ol.source.XYZ({ url: config.tileUrl, attributions: config.tileAttribution || undefined }),
    zIndex: 0,
  });
  layers.push(baseLayer);
}
layers.push(...overlays.layers, cameras.layer);

const view = new ol.View({ enableRotation: false, maxZoom: 20, minZoom: 7 });
const map = new ol.Map({
  target: mapEl,
  layers,
  view,
  controls: ol.control.defaults.defaults({ rotate: false }).extend([new ol.control.ScaleLine()]),
});
view.fit(ol.proj.transformExtent(config.extent, "EPSG:4326", "EPSG:3857"), { padding: [70, 30, 30, 30] });

function showMessage(text, kind = "error") {
  messageEl.textContent = text;
  messageEl.className = `console-message ${kind}`;
  messageEl.hidden = !text;
}

for (const input of toggles.querySelectorAll("input[name=layer]")) {
  const apply = () => {
    if (input.value === "base") {
      baseLayer?.setVisible(input.checked);
      return;
    }
    overlays.setVisible(input.value, input.checked).then(() => {
      input.closest("label").classList.remove("unavailable");
    }, () => {
      input.closest("label").classList.add("unavailable");
      input.closest("label").title = gettext("This layer could not be loaded.");
    });
  };
  input.addEventListener("change", apply);
  if (input.checked) apply();
}

// --- cameras: load, count, legend ----------------------------------------------------------------
let loadSeq = 0;
let lastParams = null;
let controller = null;

function setCount(n) {
  countEl.textContent = interpolate(ngettext("%(count)s camera", "%(count)s cameras", n),
    { count: numberFormat.format(n) }, true);
  mapEl.dataset.cameras = n;
}

function updateLegend(counts) {
  for (const li of document.querySelectorAll("#legend li[data-status]")) {
    const i = statusIndex.get(li.dataset.status);
    li.querySelector(".count").textContent = numberFormat.format(counts[i] || 0);
  }
}

async function loadCameras(params, initial = false) {
  const seq = ++loadSeq;
  lastParams = params;
  controller?.abort();
  controller = new AbortController();
  countEl.textContent = gettext("Loading cameras…");
  mapEl.setAttribute("aria-busy", "true");
  try {
    const res = await (initial
      ? window.gwanjeInitialCameras
      : fetch(`${config.camerasUrl}${params ? `?${params}` : ""}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal,
      }));
    if (res.status === 403) {
      window.location.reload();
      return;
    }
    const data = await res.json();
    if (seq !== loadSeq) return;
    if (res.status === 400) {
      showMessage((data.errors || []).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join(" "));
      countEl.textContent = gettext("The filter is not valid.");
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    showMessage("");
    const remap = data.statuses.map((value) => statusIndex.get(value) ?? 0);
    cameras.setData(data.rows, remap);
    setCount(data.count);
    updateLegend(cameras.counts);
  } catch (err) {
    if (err.name === "AbortError" || seq !== loadSeq) return;
    showMessage(gettext("The cameras could not be loaded."));
    countEl.textContent = "";
  } finally {
    if (seq === loadSeq) mapEl.removeAttribute("aria-busy");
  }
}

// --- filters and search --------------------------------------------------------------------------
const COORD = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;

/** "37.55, 127.04" (lat, lon; lon, lat is accepted too) → {lat, lon}, otherwise null. */
export function parseCoordinate(text) {
  const m = COORD.exec(text || "");
  if (!m) return null;
  let a = Number(m[1]);
  let b = Number(m[2]);
  if (Math.abs(a) > 90 && Math.abs(b) <= 90) [a, b] = [b, a];
  if (Math.abs(a) > 90 || Math.abs(b) > 180) return null;
  return { lat: a, lon: b };
}

function filterParams() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (value !== "" && !(key === "q" && parseCoordinate(value))) params.append(key, value);
  }
  return params.toString();
}

function applyFilters({ force = false } = {}) {
  const params = filterParams();
  if (!force && params === lastParams) return;
  history.replaceState(null, "", window.location.pathname + (params ? `?${params}` : ""));
  $("#list-link").href = config.listUrl + (params ? `?${params}` : "");
  loadCameras(params);
}

let debounce = null;
form.addEventListener("change", () => {
  clearTimeout(debounce);
  debounce = setTimeout(applyFilters, 150);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const coord = parseCoordinate(search.value);
  if (coord) showNearby(coord.lon, coord.lat, { fly: true });
  applyFilters();
});
search.addEventListener("search", () => {
  if (!search.value) applyFilters();
});
$("#filter-reset").addEventListener("click", (event) => {
  event.preventDefault();
  for (const input of form.querySelectorAll("input[type=checkbox]")) input.checked = false;
  for (const select of form.querySelectorAll("select")) select.selectedIndex = 0;
  search.value = "";
  applyFilters();
});
$("#filter-toggle").addEventListener("click", (event) => {
  const hidden = root.classList.toggle("filters-hidden");
  event.currentTarget.setAttribute("aria-expanded", String(!hidden));
});

// --- selection and the camera card --------------------------------------------------------------
let centerOnCard = false;

function openPanel() {
  side.hidden = false;
}

function closePanel() {
  side.hidden = true;
  card.replaceChildren();
  nearby.hidden = true;
  cameras.setSelected(null);
  cameras.setNearby([]);
  cameras.setQueryPoint(null);
  delete mapEl.dataset.selected;
}

function flyTo(coord, minZoom = 17) {
  view.animate({ center: coord, zoom: Math.max(view.getZoom(), minZoom), duration: 350 });
}

function selectCamera(id, { center = false, focus = false } = {}) {
  cameras.setSelected(id);
  mapEl.dataset.selected = id;
  openPanel();
  const coord = cameras.coordOf(id);
  centerOnCard = center && !coord;
  if (center && coord) flyTo(coord);
  return htmx.ajax("GET", config.cardUrl.replace("{id}", id), { target: card, swap: "innerHTML" }).then(() => {
    if (focus) card.querySelector(".camera-card")?.focus();
  });
}

card.addEventListener("htmx:afterSwap", () => {
  const article = card.querySelector(".camera-card");
  if (!article) return;
  const coord = toMercator(Number(article.dataset.lon), Number(article.dataset.lat));
  cameras.setSelected(article.dataset.cameraId, coord);
  mapEl.dataset.selected = article.dataset.cameraId;
  if (centerOnCard) flyTo(coord);
  centerOnCard = false;
});
card.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  card.replaceChildren();
  const p = document.createElement("p");
  p.className = "form-errors";
  p.textContent = status === 404 ? gettext("This camera does not exist or you may not see it.")
    : gettext("The camera could not be loaded.");
  card.append(p);
});
side.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-camera-link], button[data-camera-id]");
  if (!link) return;
  event.preventDefault();
  selectCamera(link.dataset.cameraLink || link.dataset.cameraId, { center: true, focus: link.tagName === "BUTTON" });
});
$("#side-close").addEventListener("click", () => {
  closePanel();
  mapEl.focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !side.hidden) {
    closePanel();
    mapEl.focus();
  }
});

// --- cameras near a point -----------------------------------------------------------------------
function formatDistance(m) {
  if (m < 1000) return interpolate(gettext("%(distance)s m"), { distance: Math.round(m) }, true);
  return interpolate(gettext("%(distance)s km"), { distance: (m / 1000).toFixed(2) }, true);
}

async function showNearby(lon, lat, { fly = false } = {}) {
  const point = toMercator(lon, lat);
  cameras.setQueryPoint(point);
  cameras.setNearby([]);
  if (fly) flyTo(point, 16);
  openPanel();
  nearby.hidden = false;
  nearby.querySelector(".nearby-point").textContent = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  const list = nearby.querySelector(".nearby-list");
  const note = (text, cls = "hint") => {
    const li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    list.replaceChildren(li);
  };
  note(gettext("Searching…"));
  // The same filters as the map: the list ranks the cameras the map shows.
  const params = new URLSearchParams(lastParams || "");
  params.delete("bbox");
  params.set("lat", lat.toFixed(6));
  params.set("lon", lon.toFixed(6));
  params.set("n", "10");
  let data;
  try {
    const res = await fetch(`${config.nearestUrl}?${params}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    data = await res.json().catch(() => ({}));
    if (!res.ok) {
      note((data.errors || []).map((e) => e.message).join(" ") || gettext("The nearby cameras could not be found."), "form-errors");
      return;
    }
  } catch {
    note(gettext("The nearby cameras could not be found."), "form-errors");
    return;
  }
  const results = data.results || [];
  if (!results.length) {
    note(gettext("No camera near this point."));
    return;
  }
  const items = results.map((r) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "nearby-item";
    button.dataset.cameraId = r.id;
    const legend = statusLegend[statusIndex.get(r.status)] || null;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.setAttribute("aria-hidden", "true");
    if (legend) swatch.style.background = legend.colour;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = r.label;
    const dist = document.createElement("span");
    dist.className = "distance";
    dist.textContent = formatDistance(r.distance_m);
    button.append(swatch, label, dist);
    button.title = r.status_label || (legend ? legend.label : "");
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
  cameras.setNearby(results.map((r) => (r.lon != null && r.lat != null ? toMercator(r.lon, r.lat) : cameras.coordOf(r.id))));
}

// --- map interaction ----------------------------------------------------------------------------
function activate(hit) {
  if (hit.count === 1 || hit.same || view.getZoom() >= 18.5) {
    selectCamera(hit.id);
    return;
  }
  const ext = cameras.groupExtent(hit);
  view.fit(ext, { padding: [90, 90, 90, 90], duration: 350, maxZoom: 19 });
}

map.on("singleclick", (event) => {
  const hit = cameras.hitTest(event.pixel);
  if (hit) activate(hit);
});
map.on("pointermove", (event) => {
  if (event.dragging) return;
  mapEl.style.cursor = cameras.hitTest(event.pixel) ? "pointer" : "";
});
map.getViewport().addEventListener("contextmenu", (event) => {
  event.preventDefault();
  const [lon, lat] = ol.proj.toLonLat(map.getEventCoordinate(event));
  showNearby(lon, lat);
});
mapEl.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.target !== mapEl) return;
  const size = map.getSize();
  const hit = cameras.hitTest([size[0] / 2, size[1] / 2]);
  if (hit) activate(hit);
  else {
    const [lon, lat] = ol.proj.toLonLat(view.getCenter());
    showNearby(lon, lat);
  }
});

// --- live status colours: the recorder changes camera statuses; refresh them every 10 s ------------
// Sent with X-Gwanje-Poll so that polling does not count as user activity (idle timeout).
const STATUS_REFRESH_MS = window.gwanjeStatusRefreshMs || 10000;
let refreshing = false;

async function refreshStatuses() {
  if (refreshing || document.hidden || lastParams === null || mapEl.getAttribute("aria-busy") === "true") return;
  refreshing = true;
  const seq = loadSeq;
  try {
    const res = await fetch(`${config.camerasUrl}${lastParams ? `?${lastParams}` : ""}`, {
      headers: { Accept: "application/json", "X-Gwanje-Poll": "1" }, credentials: "same-origin",
    });
    if (res.status === 403) {
      window.location.reload();
      return;
    }
    if (!res.ok || seq !== loadSeq) return;
    const data = await res.json();
    if (seq !== loadSeq) return;
    const remap = data.statuses.map((value) => statusIndex.get(value) ?? 0);
    const changed = cameras.updateStatuses(data.rows, remap);
    if (changed < 0) {
      cameras.setData(data.rows, remap);
      setCount(data.count);
    }
    if (changed !== 0) updateLegend(cameras.counts);
    mapEl.dataset.statusRefreshes = String(Number(mapEl.dataset.statusRefreshes || 0) + 1);
  } catch {
    // network hiccup: the next tick tries again
  } finally {
    refreshing = false;
  }
}
setInterval(refreshStatuses, STATUS_REFRESH_MS);

// --- start ----------------------------------------------------------------------------------------
const requested = new URLSearchParams(window.location.search).get("camera");
loadCameras(window.gwanjeInitialParams || "", true).then(() => {
  if (requested && /^\d+$/.test(requested)) selectCamera(requested, { center: true });
});

// For tests and benchmarks: the map and helpers (no behaviour depends on this).
window.gwanjeConsole = {
  map,
  cameras,
  overlays,
  selectCamera,
  showNearby,
  refreshStatuses,
  pixelOf(id) {
    const c = cameras.coordOf(id);
    return c ? map.getPixelFromCoordinate(c) : null;
  },
};

// --- the incident queue (operator console), for users who may see incidents ---------------------
if (config.incidents) {
  import("./incident-queue.js").then(({ startIncidentQueue }) => {
    startIncidentQueue({ config: config.incidents, map, view, flyTo, toMercator });
  });
}
