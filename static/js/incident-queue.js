// The operator console's live incident queue (issue: situations). The server pushes the consoles'
// feed over /ws/console/ (gwanje/situations/console/websocket.py); this module keeps the queue,
// sounds and flashes alarms, draws incidents and the selected one's track on the map, and takes
// workflow steps through the incidents API. Which steps a user may take comes from the API's
// `actions` (the duty matrix decides), never from this file.

const $ = (sel, root = document) => root.querySelector(sel);
const SHORTCUTS = { a: "acknowledge", c: "confirm", d: "dismiss", h: "hand_over", p: "dispatch", r: "resolve" };
const clock = new Intl.DateTimeFormat("ko-KR", {
  timeZone: "Asia/Seoul", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

function csrfToken() {
  return $("#incident-panel input[name=csrfmiddlewaretoken]")?.value || "";
}

function errorText(body, fallback) {
  const first = body && Array.isArray(body.errors) && body.errors[0];
  return (first && first.message) || fallback;
}

class Alarm {
  // A beep made with WebAudio (no sound file to download). Browsers allow sound only after a user
  // gesture: the context is made (or resumed) on the first click or key press.
  constructor(hint) {
    this.muted = localStorage.getItem("gwanje.alarm.muted") === "1";
    this.ctx = null;
    this.hint = hint;
    const unlock = () => {
      try {
        this.ctx = this.ctx || new AudioContext();
        this.ctx.resume();
        this.hint.hidden = true;
      } catch (e) { /* no audio: the visual alarm remains */ }
    };
    document.addEventListener("pointerdown", unlock, { once: false, capture: true });
    document.addEventListener("keydown", unlock, { once: false, capture: true });
  }

  toggle() {
    this.muted = !this.muted;
    localStorage.setItem("gwanje.alarm.muted", this.muted ? "1" : "0");
    return this.muted;
  }

  ring(urgent = false) {
    document.body.dataset.alarm = String(Number(document.body.dataset.alarm || 0) + 1);
    if (this.muted) return;
    if (!this.ctx || this.ctx.state !== "running") {
      this.hint.hidden = false;
      return;
    }
    const t0 = this.ctx.currentTime;
    for (let i = 0; i < (urgent ? 3 : 2); i += 1) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.frequency.value = urgent ? 1046 : 880;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.3 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.3 + 0.2);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t0 + i * 0.3);
      osc.stop(t0 + i * 0.3 + 0.22);
    }
  }
}

export function startIncidentQueue({ config, map, view, flyTo, toMercator }) {
  const panel = $("#incident-panel");
  const list = $("#incident-queue");
  const countEl = $("#incident-count");
  const statusEl = $("#incident-status");
  const mineBox = $("#incident-mine");
  const detail = $("#incident-detail");
  const muteButton = $("#incident-mute");
  const help = $("#incident-help");
  const alarm = new Alarm($("#incident-sound-hint"));
  const mine = new Set(config.parties);
  const incidents = new Map(); // id -> summary
  let selected = null; // id
  let selectedDetail = null;
  let lastSeq = null;
  let socket = null;
  let retry = 1000;
  let titleFlash = null;
  const baseTitle = document.title;

  muteButton.textContent = alarm.muted ? "🔕" : "🔔";
  muteButton.setAttribute("aria-pressed", String(alarm.muted));
  const resultSelect = $("#incident-result");
  for (const r of config.results) resultSelect.append(new Option(r.label, r.value));

  // --- map: open incidents as coloured circles, the selected one's track as a line -------------
  const source = new ol.source.Vector();
  const trackSource = new ol.source.Vector();
  const styleCache = new Map();
  const styleFor = (feature) => {
    const key = `${feature.get("colour")}|${feature.get("selected") ? 1 : 0}`;
    if (!styleCache.has(key)) {
      styleCache.set(key, new ol.style.Style({
        image: new ol.style.RegularShape({
          points: 4, radius: feature.get("selected") ? 13 : 9, angle: Math.PI / 4,
          fill: new ol.style.Fill({ color: feature.get("colour") }),
          stroke: new ol.style.Stroke({ color: "#fff", width: 2 }),
        }),
      }));
    }
    return styleCache.get(key);
  };
  const layer = new ol.layer.Vector({ source, style: styleFor, zIndex: 30 });
  const trackLayer = new ol.layer.Vector({
    source: trackSource, zIndex: 29,
    style: new ol.style.Style({
      stroke: new ol.style.Stroke({ color: "#c2185b", width: 3, lineDash: [6, 4] }),
      image: new ol.style.Circle({ radius: 4, fill: new ol.style.Fill({ color: "#c2185b" }) }),
    }),
  });
  map.addLayer(trackLayer);
  map.addLayer(layer);
  map.on("singleclick", (event) => {
    const hit = map.forEachFeatureAtPixel(event.pixel, (f) => f, { layerFilter: (l) => l === layer });
    if (hit) select(hit.getId(), { center: false });
  });

  function drawMarker(inc) {
    let feature = source.getFeatureById(inc.id);
    if (!inc.is_open) {
      if (feature) source.removeFeature(feature);
      return;
    }
    const geom = new ol.geom.Point(toMercator(inc.lon, inc.lat));
    if (!feature) {
      feature = new ol.Feature({ geometry: geom });
      feature.setId(inc.id);
      source.addFeature(feature);
    } else {
      feature.setGeometry(geom);
    }
    feature.set("colour", inc.colour);
    feature.set("selected", inc.id === selected);
  }

  // --- the queue --------------------------------------------------------------------------------
  const isMine = (inc) => mine.has(inc.current_party);
  const rank = (inc) => [inc.escalations.length ? 0 : 1, inc.status === "new" ? 0 : 1, -Date.parse(inc.opened_at)];

  function sorted() {
    const onlyMine = mineBox.checked && mine.size > 0;
    return [...incidents.values()]
      .filter((inc) => inc.is_open && (!onlyMine || isMine(inc)))
      .sort((x, y) => {
        const a = rank(x);
        const b = rank(y);
        for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
        return 0;
      });
  }

  function itemFor(inc) {
    const li = document.createElement("li");
    li.className = `incident-item status-${inc.status}${isMine(inc) ? "" : " not-mine"}`;
    li.tabIndex = 0;
    li.dataset.incidentId = inc.id;
    li.dataset.status = inc.status;
    li.style.setProperty("--status", inc.colour);
    const line1 = document.createElement("div");
    line1.className = "line1";
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = inc.number;
    const kind = document.createElement("span");
    kind.className = "badge";
    kind.style.background = inc.kind_colour;
    kind.textContent = inc.kind_label;
    const time = document.createElement("time");
    time.className = "time";
    time.dateTime = inc.last_event_at;
    time.textContent = clock.format(new Date(inc.last_event_at));
    line1.append(number, kind, time);
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = inc.title;
    const line3 = document.createElement("div");
    line3.className = "line3";
    const status = document.createElement("span");
    status.className = "badge";
    status.style.background = inc.colour;
    status.textContent = inc.status_label;
    const party = document.createElement("span");
    party.textContent = inc.current_party_label;
    line3.append(status, party);
    if (inc.event_count > 1) {
      const n = document.createElement("span");
      n.textContent = interpolate(gettext("%(n)s events"), { n: inc.event_count }, true);
      line3.append(n);
    }
    for (const timer of inc.escalations) {
      const esc = document.createElement("span");
      esc.className = "esc";
      esc.textContent = timer === "acknowledge" ? gettext("Not acknowledged in time")
        : timer === "hand_over" ? gettext("Not handed to police in time") : gettext("No patrol dispatched in time");
      line3.append(esc);
    }
    li.append(line1, title, line3);
    if (inc.id === selected) li.classList.add("selected");
    return li;
  }

  // At a busy moment the feed brings many rows a second: the list is rebuilt at most once a frame
  // (about once a second in a hidden tab), and new items flash once they are drawn.
  let renderPending = false;
  const toFlash = new Set();

  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    const run = () => {
      renderPending = false;
      render();
      for (const id of toFlash) flash(id);
      toFlash.clear();
    };
    if (document.hidden) setTimeout(run, 250);
    else requestAnimationFrame(run);
  }

  function render() {
    const focusedId = document.activeElement?.closest?.(".incident-item")?.dataset.incidentId;
    const items = sorted();
    list.replaceChildren(...items.map(itemFor));
    countEl.textContent = String(items.length);
    panel.dataset.count = String(items.length);
    if (focusedId) list.querySelector(`[data-incident-id="${focusedId}"]`)?.focus();
  }

  function flash(id) {
    const li = list.querySelector(`[data-incident-id="${id}"]`);
    if (li) {
      li.classList.remove("flash");
      void li.offsetWidth;
      li.classList.add("flash");
    }
    if (!titleFlash) {
      let on = false;
      titleFlash = setInterval(() => {
        on = !on;
        document.title = on ? `● ${gettext("New incident")} — ${baseTitle}` : baseTitle;
      }, 700);
      setTimeout(() => { clearInterval(titleFlash); titleFlash = null; document.title = baseTitle; }, 8000);
    }
  }

  function upsert(inc, event) {
    const old = incidents.get(inc.id);
    if (old && Date.parse(old.updated_at) > Date.parse(inc.updated_at)) return; // an older copy
    incidents.set(inc.id, inc);
    drawMarker(inc);
    scheduleRender();
    const alarming = event === "created" || event === "escalated" || (event === "changed" && old && old.current_party !== inc.current_party);
    if (alarming && inc.is_open && isMine(inc)) {
      toFlash.add(inc.id);
      alarm.ring(event === "escalated");
    }
    if (inc.id === selected) loadDetail(inc.id);
  }

  // --- the feed ---------------------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = lastSeq === null ? "" : `?since=${lastSeq}`;
    socket = new WebSocket(`${scheme}://${location.host}${config.socketPath}${since}`);
    socket.addEventListener("message", (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "hello") {
        retry = 1000;
        if (lastSeq === null) {
          lastSeq = msg.seq; // the queue as of now comes over HTTP; later rows over the socket
          reload();
        } else {
          setLive(true); // reconnected: the server replays every row after lastSeq
        }
      } else if (msg.type === "reset") {
        lastSeq = msg.seq ?? lastSeq; // too much was missed to replay: reload the queue
        reload();
      } else if (msg.type === "incident") {
        if (loading) held.push(msg);
        else apply(msg);
      }
    });
    socket.addEventListener("close", (event) => {
      setLive(false);
      if (event.code === 4401) {
        statusEl.textContent = gettext("Your session has ended: sign in again.");
        return;
      }
      if (event.code === 4403) {
        statusEl.textContent = gettext("You may not see incidents.");
        return;
      }
      statusEl.textContent = gettext("Connection lost; reconnecting…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    });
  }

  function apply(msg) {
    lastSeq = Math.max(lastSeq ?? 0, msg.seq);
    upsert(msg.incident, msg.event);
  }

  function setLive(live) {
    panel.dataset.live = live ? "1" : "0";
    if (live) statusEl.textContent = gettext("Live");
  }

  // While the queue is loaded over HTTP, rows arriving on the socket are held and applied after it
  // (the list may have been read before or after they were written; upsert keeps the newer copy).
  let loading = false;
  let loads = 0;
  let held = [];

  async function reload() {
    const generation = ++loads;
    loading = true;
    setLive(false);
    try {
      await loadFullList(generation);
      if (generation === loads) setLive(socket.readyState === WebSocket.OPEN);
    } catch (e) {
      statusEl.textContent = gettext("The incident list could not be loaded.");
      if (generation === loads) setTimeout(() => generation === loads && reload(), 5000);
    } finally {
      if (generation === loads) {
        loading = false;
        const pending = held;
        held = [];
        for (const msg of pending) apply(msg);
      }
    }
  }

  async function loadFullList(generation) {
    // The list API gives incidents; their console summaries come from the detail-free list fields.
    const response = await fetch(config.listUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    if (generation !== loads) return; // a newer reload is under way
    incidents.clear();
    source.clear();
    for (const row of body.results || []) {
      const inc = fromApi(row);
      incidents.set(inc.id, inc);
      drawMarker(inc);
    }
    render();
  }

  function fromApi(row) {
    return {
      id: row.id, number: row.number, kind: row.kind, kind_label: row.kind_label, kind_colour: row.kind_colour,
      status: row.status, status_label: row.status_label, colour: row.status_colour, title: row.title,
      lon: row.lon, lat: row.lat, address: row.address, opened_at: row.opened_at, last_event_at: row.last_event_at,
      updated_at: row.updated_at, event_count: row.event_count, first_party: row.first_party,
      responder_party: row.responder_party, current_party: row.current_party,
      current_party_label: config.partyLabels[row.current_party] || row.current_party,
      is_open: !["dismissed", "closed"].includes(row.status), escalations: row.escalations || [],
    };
  }

  // --- selection, detail and actions ------------------------------------------------------------
  async function select(id, { center = true } = {}) {
    selected = Number(id);
    for (const f of source.getFeatures()) f.set("selected", f.getId() === selected);
    render();
    list.querySelector(`[data-incident-id="${selected}"]`)?.focus();
    const inc = incidents.get(selected);
    if (inc && center) flyTo(toMercator(inc.lon, inc.lat), 16);
    await loadDetail(selected);
  }

  // One detail request at a time: updates of the selected incident arriving meanwhile (an SOS
  // walking, a bell pressed again) make one more request when it is done.
  let detailBusy = false;
  let detailAgain = false;

  async function loadDetail(id) {
    if (detailBusy) {
      detailAgain = true;
      return;
    }
    detailBusy = true;
    try {
      const response = await fetch(config.detailUrl.replace("{id}", id), { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (Number(id) !== selected) return; // another incident was selected meanwhile
      if (!response.ok) {
        selectedDetail = null;
        showError(gettext("The incident could not be loaded."));
        return;
      }
      const body = await response.json();
      if (body.id !== selected) return;
      selectedDetail = body;
      drawDetail(body);
    } catch (e) {
      showError(gettext("The incident could not be loaded."));
    } finally {
      detailBusy = false;
      if (selected !== null && (detailAgain || Number(id) !== selected)) {
        detailAgain = false;
        loadDetail(selected);
      }
    }
  }

  function drawDetail(d) {
    // Redraw only what changed: a button replaced under the operator's pointer loses the click.
    const key = JSON.stringify([d.id, d.status, d.actions, d.nearest_cameras.map((c) => c.id), d.track.length,
      d.event_count, d.escalations]);
    if (detail.dataset.key === key && !detail.hidden) return;
    detail.dataset.key = key;
    detail.hidden = false;
    detail.dataset.incidentId = d.id;
    $(".incident-detail-title", detail).textContent = `${d.number} ${d.title}`;
    const inc = incidents.get(d.id);
    $(".incident-detail-meta", detail).textContent = [inc?.kind_label, inc?.status_label, d.address].filter(Boolean).join(" · ");
    const actions = $(".incident-actions", detail);
    actions.replaceChildren();
    const keys = Object.fromEntries(Object.entries(SHORTCUTS).map(([k, a]) => [a, k]));
    for (const code of d.actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = code;
      button.textContent = config.actions[code] || code;
      if (keys[code]) {
        const kbd = document.createElement("kbd");
        kbd.textContent = keys[code];
        button.append(kbd);
      }
      button.addEventListener("click", () => act(code));
      actions.append(button);
    }
    if (!d.actions.length) {
      const none = document.createElement("p");
      none.className = "hint";
      none.textContent = gettext("Nothing for you to do on this incident now (division of duties).");
      actions.append(none);
    }
    const inputs = $(".incident-inputs", detail);
    const needUnit = d.actions.includes("dispatch");
    const needResult = d.actions.includes("close");
    inputs.hidden = !(needUnit || needResult);
    $(".unit-field", detail).hidden = !needUnit;
    for (const el of detail.querySelectorAll(".result-field")) el.hidden = !needResult;
    const cams = $(".incident-cameras", detail);
    cams.replaceChildren();
    for (const cam of d.nearest_cameras) {
      const li = document.createElement("li");
      li.textContent = `${cam.label} · ${cam.distance_m} m `;
      if (config.wallUrl) {
        const a = document.createElement("a");
        a.href = config.wallUrl.replace("{id}", cam.id);
        a.target = "gwanje-wall";
        a.dataset.cameraId = cam.id;
        a.textContent = gettext("Open on the video wall");
        li.append(a);
      }
      cams.append(li);
    }
    $(".incident-page-link", detail).href = config.pageUrl.replace("{id}", d.id);
    trackSource.clear();
    panel.dataset.trackPoints = String(d.track ? d.track.length : 0);
    if (d.track && d.track.length) {
      const coords = d.track.map(([lon, lat]) => toMercator(lon, lat));
      trackSource.addFeature(new ol.Feature({ geometry: new ol.geom.LineString(coords) }));
      for (const c of coords) trackSource.addFeature(new ol.Feature({ geometry: new ol.geom.Point(c) }));
    }
    showError("");
  }

  function showError(text) {
    const el = $(".incident-error", detail);
    el.textContent = text;
    el.hidden = !text;
  }

  const sending = new Set(); // "id:action" being sent: a key held down sends it once

  async function act(code) {
    // Only what the API lists for the incident on screen.
    if (!selectedDetail || selectedDetail.id !== selected || !selectedDetail.actions.includes(code)) return;
    const id = selectedDetail.id;
    const body = { action: code };
    if (code === "dispatch") {
      body.unit = $("#incident-unit").value.trim();
      if (!body.unit) {
        showError(gettext("Name the patrol unit first."));
        $("#incident-unit").focus();
        return;
      }
    }
    if (code === "close") {
      body.result = $("#incident-result").value;
      body.result_text = $("#incident-result-text").value.trim();
      if (!body.result) {
        showError(gettext("Choose the CCTV utilisation result first."));
        $("#incident-result").focus();
        return;
      }
    }
    const key = `${id}:${code}`;
    if (sending.has(key)) return;
    sending.add(key);
    let message = "";
    try {
      const response = await fetch(config.actUrl.replace("{id}", id), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
      let answer = null;
      try { answer = await response.json(); } catch (e) { answer = null; }
      if (response.ok) {
        $("#incident-unit").value = "";
        if (code === "close") {
          $("#incident-result").value = "";
          $("#incident-result-text").value = "";
        }
      } else {
        message = errorText(answer, gettext("The step could not be taken."));
      }
    } catch (e) {
      message = gettext("The server could not be reached; try again.");
    } finally {
      sending.delete(key);
    }
    await loadDetail(id); // the steps possible now (someone else may have taken one meanwhile)
    if (message) showError(message);
  }

  // --- keyboard ---------------------------------------------------------------------------------
  function move(delta) {
    const items = [...list.querySelectorAll(".incident-item")];
    if (!items.length) return;
    const current = items.findIndex((li) => li === document.activeElement);
    const next = items[Math.max(0, Math.min(items.length - 1, current === -1 ? 0 : current + delta))];
    next.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || help.open) return; // the help dialog: Esc closes it
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
    const key = event.key;
    if (key === "?") {
      help.showModal();
      event.preventDefault();
    } else if (key === "j" || (key === "ArrowDown" && target.closest?.(".incident-queue"))) {
      move(1);
      event.preventDefault();
    } else if (key === "k" || (key === "ArrowUp" && target.closest?.(".incident-queue"))) {
      move(-1);
      event.preventDefault();
    } else if (key === "Enter" && target.closest?.(".incident-item")) {
      select(target.closest(".incident-item").dataset.incidentId);
      event.preventDefault();
    } else if (key === "m") {
      const muted = alarm.toggle();
      muteButton.textContent = muted ? "🔕" : "🔔";
      muteButton.setAttribute("aria-pressed", String(muted));
    } else if (key === "w" && selectedDetail?.nearest_cameras?.length && config.wallUrl) {
      window.open(config.wallUrl.replace("{id}", selectedDetail.nearest_cameras[0].id), "gwanje-wall");
    } else if (SHORTCUTS[key] && selectedDetail) {
      act(SHORTCUTS[key]);
      event.preventDefault();
    }
  });

  list.addEventListener("click", (event) => {
    const li = event.target.closest(".incident-item");
    if (li) select(li.dataset.incidentId);
  });
  mineBox.addEventListener("change", render);
  if (!mine.size) {
    mineBox.checked = false;
    mineBox.closest("label").hidden = true;
  }
  muteButton.addEventListener("click", () => {
    const muted = alarm.toggle();
    muteButton.textContent = muted ? "🔕" : "🔔";
    muteButton.setAttribute("aria-pressed", String(muted));
  });
  $("#incident-help-toggle").addEventListener("click", () => help.showModal());
  connect();
}
