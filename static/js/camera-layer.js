/* The camera layer of the map console: every camera drawn on one canvas, clustered on a grid.
 *
 * One ol.Feature per camera and OpenLayers' Cluster source are too slow at 100,000 cameras, so the
 * cameras live in typed arrays (EPSG:3857 metres) and this layer, an ol.layer.Layer with its own
 * render function, buckets the cameras in view on a grid anchored to map coordinates, O(n) per
 * frame. Zoomed out, a cell with several cameras is a ring whose arcs show the share of each status
 * and whose centre shows the count; zoomed in (resolution <= POINT_RESOLUTION) every camera is its
 * own dot, and only cameras on the same spot (the cameras of one site) stay grouped.
 * Colours come from the caller (CameraStatus colours and the CSS theme of the console).
 */
/* global ol */

const EARTH_R = 6378137;
export const CLUSTER_CELL_PX = 64;
export const POINT_RESOLUTION = 2.4; // ~ zoom 16: 1 px ≈ 2 m in Seoul
const DOT_R = 7;
const MAX_CELLS = 1 << 22;

export function toMercator(lon, lat) {
  return [(lon * Math.PI * EARTH_R) / 180, Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)) * EARTH_R];
}

function grow(arr, n, Type) {
  return arr.length >= n ? arr : new Type(Math.max(n, arr.length * 2, 64));
}

export class CameraLayer {
  /**
   * @param {object} opts
   * @param {string[]} opts.colours  colour of each status index
   * @param {object} opts.theme      {clusterFill, clusterText, dotOutline, selected, query, font}
   * @param {function} [opts.onRender] called after each frame with {groups, cameras, clustered, version}
   */
  constructor({ colours, theme, onRender }) {
    this.colours = colours;
    this.nStatus = colours.length;
    this.theme = theme;
    this.onRender = onRender || (() => {});
    this.n = 0;
    this.ids = new Float64Array(0);
    this.xs = new Float64Array(0);
    this.ys = new Float64Array(0);
    this.status = new Uint8Array(0);
    this.counts = new Array(this.nStatus).fill(0);
    this.idIndex = null;
    this.version = 0;
    this.selectedId = null;
    this.selectedCoord = null;
    this.queryPoint = null;
    this.nearby = [];
    this.cellBuf = new Int32Array(0);
    this.g = { count: new Int32Array(0), sx: new Float64Array(0), sy: new Float64Array(0),
      first: new Int32Array(0), same: new Uint8Array(0), key: new Int32Array(0), st: new Int32Array(0) };
    this.hits = { n: 0, px: new Float32Array(0), py: new Float32Array(0), r: new Float32Array(0), gi: new Int32Array(0) };
    this.grid = null;
    this.compact = new Intl.NumberFormat(document.documentElement.lang || undefined,
      { notation: "compact", maximumFractionDigits: 1 });
    this.canvas = document.createElement("canvas");
    this.canvas.className = "camera-canvas";
    Object.assign(this.canvas.style, { position: "absolute", left: "0", top: "0" });
    this.ctx = this.canvas.getContext("2d");
    this.spriteRatio = 0;
    this.layer = new ol.layer.Layer({ render: (frameState) => this.render(frameState), zIndex: 100 });
    this.layer.set("name", "cameras");
  }

  /** rows: [[id, lon, lat, statusIndex, ...], ...]; remap: payload status index -> colour index. */
  setData(rows, remap) {
    const n = rows.length;
    const ids = new Float64Array(n);
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    const st = new Uint8Array(n);
    const counts = new Array(this.nStatus).fill(0);
    const k = (Math.PI * EARTH_R) / 180;
    const h = Math.PI / 360;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      ids[i] = r[0];
      xs[i] = r[1] * k;
      ys[i] = Math.log(Math.tan(Math.PI / 4 + r[2] * h)) * EARTH_R;
      const s = remap ? remap[r[3]] : r[3];
      st[i] = s;
      counts[s]++;
    }
    Object.assign(this, { n, ids, xs, ys, status: st, counts, idIndex: null });
    this.version++;
    this.layer.changed();
  }

  /** Live status refresh with rows as for setData: only cameras whose status changed are updated.
   * Returns how many changed, or -1 when the cameras themselves differ (then call setData). */
  updateStatuses(rows, remap) {
    if (rows.length !== this.n) return -1;
    let changed = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const j = this.ids[i] === r[0] ? i : this.indexOf(r[0]);
      if (j < 0) return -1;
      const s = remap ? remap[r[3]] : r[3];
      if (this.status[j] !== s) {
        this.counts[this.status[j]]--;
        this.counts[s]++;
        this.status[j] = s;
        changed++;
      }
    }
    if (changed) this.layer.changed();
    return changed;
  }

  indexOf(id) {
    if (!this.idIndex) {
      this.idIndex = new Map();
      for (let i = 0; i < this.n; i++) this.idIndex.set(this.ids[i], i);
    }
    const i = this.idIndex.get(Number(id));
    return i === undefined ? -1 : i;
  }

  coordOf(id) {
    const i = this.indexOf(id);
    return i < 0 ? null : [this.xs[i], this.ys[i]];
  }

  /** Highlight one camera; `coord` (EPSG:3857) is used when the camera is not in the loaded data. */
  setSelected(id, coord = null) {
    this.selectedId = id == null ? null : Number(id);
    this.selectedCoord = coord;
    this.layer.changed();
  }

  setQueryPoint(coord) {
    this.queryPoint = coord;
    this.layer.changed();
  }

  /** Numbered markers for the "cameras near here" list: [[x, y], ...] in rank order. */
  setNearby(coords) {
    this.nearby = coords;
    this.layer.changed();
  }

  sprites(pr) {
    if (this.spriteRatio === pr) return this._sprites;
    const size = Math.ceil((DOT_R + 2) * 2 * pr);
    this._sprites = this.colours.map((colour) => {
      const c = document.createElement("canvas");
      c.width = c.height = size;
      const ctx = c.getContext("2d");
      ctx.scale(pr, pr);
      const m = size / pr / 2;
      ctx.beginPath();
      ctx.arc(m, m, DOT_R + 1, 0, 2 * Math.PI);
      ctx.fillStyle = this.theme.dotOutline;
      ctx.fill();
      ctx.beginPath();
      ctx.arc(m, m, DOT_R, 0, 2 * Math.PI);
      ctx.fillStyle = "#fff";
      ctx.fill();
      ctx.beginPath();
      ctx.arc(m, m, DOT_R - 1.3, 0, 2 * Math.PI);
      ctx.fillStyle = colour;
      ctx.fill();
      return c;
    });
    this.spriteSize = size / pr;
    this.spriteRatio = pr;
    return this._sprites;
  }

  render(frameState) {
    const [w, h] = frameState.size;
    const pr = frameState.pixelRatio;
    const canvas = this.canvas;
    const cw = Math.round(w * pr);
    const ch = Math.round(h * pr);
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    ctx.setTransform(pr, 0, 0, pr, 0, 0);
    const t = frameState.coordinateToPixelTransform;
    const res = frameState.viewState.resolution;
    const clustered = res > POINT_RESOLUTION;
    const stats = this.group(frameState.extent, res, clustered);
    this.draw(ctx, t, clustered, pr);
    this.drawMarkers(ctx, t);
    this.onRender({ ...stats, clustered, version: this.version, total: this.n });
    return canvas;
  }

  /** Bucket the cameras in (and just around) the extent into grid cells. */
  group(extent, res, clustered) {
    let cell = (clustered ? CLUSTER_CELL_PX : 1) * res;
    const margin = (clustered ? CLUSTER_CELL_PX : DOT_R * 2) * res;
    const minx = extent[0] - margin;
    const miny = extent[1] - margin;
    const maxx = extent[2] + margin;
    const maxy = extent[3] + margin;
    let ox;
    let oy;
    let cols;
    let rows;
    for (;;) {
      ox = Math.floor(minx / cell) * cell;
      oy = Math.floor(miny / cell) * cell;
      cols = Math.ceil((maxx - ox) / cell) + 1;
      rows = Math.ceil((maxy - oy) / cell) + 1;
      if (cols * rows <= MAX_CELLS) break;
      cell *= 2;
    }
    const cells = cols * rows;
    this.cellBuf = grow(this.cellBuf, cells, Int32Array);
    const cellBuf = this.cellBuf;
    cellBuf.fill(-1, 0, cells);
    const g = this.g;
    const ns = this.nStatus;
    const cap = Math.min(this.n, cells) + 1;
    if (g.count.length < cap) {
      g.count = grow(g.count, cap, Int32Array);
      const m = g.count.length;
      g.sx = new Float64Array(m);
      g.sy = new Float64Array(m);
      g.first = new Int32Array(m);
      g.same = new Uint8Array(m);
      g.key = new Int32Array(m);
      g.st = new Int32Array(m * ns);
    }
    const { xs, ys, status, n } = this;
    const inv = 1 / cell;
    let groups = 0;
    let cameras = 0;
    for (let i = 0; i < n; i++) {
      const x = xs[i];
      const y = ys[i];
      if (x < minx || x > maxx || y < miny || y > maxy) continue;
      const key = ((y - oy) * inv | 0) * cols + ((x - ox) * inv | 0);
      let gi = cellBuf[key];
      if (gi < 0) {
        gi = groups++;
        cellBuf[key] = gi;
        g.count[gi] = 0;
        g.sx[gi] = 0;
        g.sy[gi] = 0;
        g.first[gi] = i;
        g.same[gi] = 1;
        g.key[gi] = key;
        g.st.fill(0, gi * ns, gi * ns + ns);
      }
      g.count[gi]++;
      g.sx[gi] += x;
      g.sy[gi] += y;
      g.st[gi * ns + status[i]]++;
      if (g.same[gi] && (x !== xs[g.first[gi]] || y !== ys[g.first[gi]])) g.same[gi] = 0;
      cameras++;
    }
    this.grid = { ox, oy, inv, cols, groups, minx, miny, maxx, maxy };
    return { groups, cameras };
  }

  groupPosition(gi, clustered) {
    const g = this.g;
    if (g.count[gi] === 1 || !clustered) return [this.xs[g.first[gi]], this.ys[g.first[gi]]];
    return [g.sx[gi] / g.count[gi], g.sy[gi] / g.count[gi]];
  }

  draw(ctx, t, clustered, pr) {
    const g = this.g;
    const groups = this.grid.groups;
    const sprites = this.sprites(pr);
    const half = this.spriteSize / 2;
    const size = this.spriteSize;
    const hits = this.hits;
    if (hits.px.length < groups) {
      const m = Math.max(groups, hits.px.length * 2);
      Object.assign(hits, { px: new Float32Array(m), py: new Float32Array(m), r: new Float32Array(m),
        gi: new Int32Array(m) });
    }
    let k = 0;
    // Single cameras first, groups above them.
    for (let gi = 0; gi < groups; gi++) {
      if (g.count[gi] !== 1) continue;
      const i = g.first[gi];
      const px = t[0] * this.xs[i] + t[2] * this.ys[i] + t[4];
      const py = t[1] * this.xs[i] + t[3] * this.ys[i] + t[5];
      ctx.drawImage(sprites[this.status[i]], px - half, py - half, size, size);
      hits.px[k] = px;
      hits.py[k] = py;
      hits.r[k] = DOT_R;
      hits.gi[k++] = gi;
    }
    const ns = this.nStatus;
    const theme = this.theme;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let gi = 0; gi < groups; gi++) {
      const count = g.count[gi];
      if (count === 1) continue;
      const [x, y] = this.groupPosition(gi, clustered);
      const px = t[0] * x + t[2] * y + t[4];
      const py = t[1] * x + t[3] * y + t[5];
      const r = clustered ? Math.min(30, 11 + 4 * Math.log10(count)) : 10;
      const lw = clustered ? 5 : 3.5;
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fillStyle = theme.clusterFill;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = theme.dotOutline;
      ctx.stroke();
      ctx.lineWidth = lw;
      let a = -Math.PI / 2;
      for (let s = 0; s < ns; s++) {
        const c = g.st[gi * ns + s];
        if (!c) continue;
        const a2 = a + (2 * Math.PI * c) / count;
        ctx.beginPath();
        ctx.arc(px, py, r - lw / 2 - 0.5, a, a2);
        ctx.strokeStyle = this.colours[s];
        ctx.stroke();
        a = a2;
      }
      ctx.fillStyle = theme.clusterText;
      ctx.font = `bold ${clustered ? 11 : 10}px ${theme.font}`;
      ctx.fillText(count < 1000 ? String(count) : this.compact.format(count), px, py + 0.5);
      hits.px[k] = px;
      hits.py[k] = py;
      hits.r[k] = r;
      hits.gi[k++] = gi;
    }
    hits.n = k;
  }

  drawMarkers(ctx, t) {
    const theme = this.theme;
    const pix = ([x, y]) => [t[0] * x + t[2] * y + t[4], t[1] * x + t[3] * y + t[5]];
    if (this.queryPoint) {
      const [px, py] = pix(this.queryPoint);
      ctx.lineWidth = 2;
      ctx.strokeStyle = theme.query;
      ctx.beginPath();
      ctx.arc(px, py, 7, 0, 2 * Math.PI);
      ctx.moveTo(px - 13, py);
      ctx.lineTo(px + 13, py);
      ctx.moveTo(px, py - 13);
      ctx.lineTo(px, py + 13);
      ctx.stroke();
    }
    if (this.selectedId != null) {
      const c = this.coordOf(this.selectedId) || this.selectedCoord;
      if (c) {
        const [px, py] = pix(c);
        ctx.beginPath();
        ctx.arc(px, py, DOT_R + 6, 0, 2 * Math.PI);
        ctx.lineWidth = 6;
        ctx.strokeStyle = "#fff";
        ctx.stroke();
        ctx.lineWidth = 3;
        ctx.strokeStyle = theme.selected;
        ctx.stroke();
      }
    }
    // Nearby ranks; cameras on one spot share one label ("1–3").
    const spots = new Map();
    this.nearby.forEach((coord, rank) => {
      if (!coord) return;
      const key = `${coord[0]},${coord[1]}`;
      if (!spots.has(key)) spots.set(key, { coord, ranks: [] });
      spots.get(key).ranks.push(rank + 1);
    });
    ctx.font = `bold 10px ${theme.font}`;
    for (const { coord, ranks } of spots.values()) {
      const [px, py] = pix(coord);
      const consecutive = ranks.every((r, i) => i === 0 || r === ranks[i - 1] + 1);
      const label = ranks.length === 1 ? String(ranks[0])
        : consecutive ? `${ranks[0]}–${ranks[ranks.length - 1]}` : ranks.join(",");
      const w = Math.max(14, ctx.measureText(label).width + 8);
      const x0 = px + 7;
      const y0 = py - 19;
      ctx.beginPath();
      ctx.roundRect(x0, y0, w, 14, 7);
      ctx.fillStyle = theme.query;
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.fillText(label, x0 + w / 2, y0 + 7.5);
    }
  }

  /** The topmost drawn dot or group under a pixel: {count, same, index, gi} or null. */
  hitTest([x, y]) {
    const hits = this.hits;
    for (let k = hits.n - 1; k >= 0; k--) {
      const dx = x - hits.px[k];
      const dy = y - hits.py[k];
      const r = hits.r[k] + 3;
      if (dx * dx + dy * dy <= r * r) {
        const gi = hits.gi[k];
        return { gi, count: this.g.count[gi], same: this.g.same[gi] === 1, index: this.g.first[gi],
          id: this.ids[this.g.first[gi]] };
      }
    }
    return null;
  }

  /** The EPSG:3857 extent of the cameras of a group hit in the last frame. */
  groupExtent(hit) {
    const { ox, oy, inv, cols, minx, miny, maxx, maxy } = this.grid;
    const key = this.g.key[hit.gi];
    const ext = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < this.n; i++) {
      const x = this.xs[i];
      const y = this.ys[i];
      if (x < minx || x > maxx || y < miny || y > maxy) continue;
      if (((y - oy) * inv | 0) * cols + ((x - ox) * inv | 0) !== key) continue;
      ext[0] = Math.min(ext[0], x);
      ext[1] = Math.min(ext[1], y);
      ext[2] = Math.max(ext[2], x);
      ext[3] = Math.max(ext[3], y);
    }
    return ext;
  }
}
