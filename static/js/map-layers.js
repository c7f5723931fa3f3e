/* Reference layers of the map console: district boundary, 행정동 with names, police offices and
 * child-protection zones, loaded as GeoJSON FeatureCollections from the REST API when first shown.
 * Colours come from the console's CSS theme (--layer-* custom properties in console.css).
 */
/* global ol */

const LABEL_MAX_RES = { dongs: 40, police: 6, zones: 3 };

function nameOf(feature) {
  return feature.get("name") || feature.get("facility_name") || feature.get("adm_nm") || "";
}

function labelPoint(feature) {
  let p = feature.get("_label");
  if (p) return p;
  const g = feature.getGeometry();
  if (!g) return null;
  if (g.getType() === "MultiPolygon") {
    let best = null;
    let area = -1;
    for (const poly of g.getPolygons()) {
      const a = poly.getArea();
      if (a > area) {
        area = a;
        best = poly;
      }
    }
    p = best ? best.getInteriorPoint() : null;
  } else if (g.getType() === "Polygon") {
    p = g.getInteriorPoint();
  } else {
    p = g;
  }
  feature.set("_label", p, true);
  return p;
}

function text(theme, label, offsetY = 0, size = 12) {
  return new ol.style.Text({
    text: label,
    font: `${size}px ${theme.font}`,
    fill: new ol.style.Fill({ color: theme.label }),
    stroke: new ol.style.Stroke({ color: "#fff", width: 3 }),
    offsetY,
    overflow: true,
  });
}

function styles(theme) {
  const district = new ol.style.Style({
    fill: new ol.style.Fill({ color: theme.land }),
    stroke: new ol.style.Stroke({ color: theme.district, width: 2.5 }),
  });
  const dongLine = new ol.style.Style({ stroke: new ol.style.Stroke({ color: theme.dongs, width: 1, lineDash: [4, 3] }) });
  const police = new ol.style.RegularShape({
    points: 4, radius: 7, angle: Math.PI / 4,
    fill: new ol.style.Fill({ color: theme.police }), stroke: new ol.style.Stroke({ color: "#fff", width: 1.5 }),
  });
  const zone = new ol.style.RegularShape({
    points: 3, radius: 8,
    fill: new ol.style.Fill({ color: theme.zones }), stroke: new ol.style.Stroke({ color: theme.label, width: 1 }),
  });
  const labelled = (name, base, offsetY, size) => (feature, res) => {
    if (res > LABEL_MAX_RES[name]) return base;
    const key = `_style_${name}`;
    let s = feature.get(key);
    if (!s) {
      const extra = new ol.style.Style({ text: text(theme, nameOf(feature), offsetY, size) });
      if (name === "dongs") extra.setGeometry(labelPoint);
      s = [base, extra];
      feature.set(key, s, true);
    }
    return s;
  };
  return {
    district,
    dongs: labelled("dongs", dongLine, 0, 13),
    police: labelled("police", new ol.style.Style({ image: police }), -15, 11),
    zones: labelled("zones", new ol.style.Style({ image: zone }), -15, 11),
  };
}

/**
 * @param {object} urls   {district, dongs, police, zones}: GeoJSON endpoints
 * @param {object} theme  colours and font from the CSS theme
 * @param {object} visible  initial visibility by name
 */
export function createOverlays(urls, theme, visible) {
  const style = styles(theme);
  const z = { district: 1, dongs: 2, zones: 3, police: 4 };
  const layers = {};
  const loading = {};
  for (const name of Object.keys(z)) {
    layers[name] = new ol.layer.Vector({
      source: new ol.source.Vector(),
      style: style[name],
      visible: Boolean(visible[name]),
      zIndex: z[name],
      declutter: name === "police" || name === "zones",
    });
    layers[name].set("name", name);
  }

  function load(name) {
    if (!loading[name]) {
      loading[name] = (async () => {
        const res = await fetch(urls[name], {
          headers: { Accept: "application/geo+json, application/json" }, credentials: "same-origin",
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const json = await res.json();
        const features = new ol.format.GeoJSON().readFeatures(json, {
          dataProjection: "EPSG:4326", featureProjection: "EPSG:3857",
        });
        layers[name].getSource().addFeatures(features);
        return features.length;
      })();
      loading[name].catch(() => {
        delete loading[name];
      });
    }
    return loading[name];
  }

  function setVisible(name, on) {
    layers[name].setVisible(on);
    return on ? load(name) : Promise.resolve(0);
  }

  return { layers: Object.values(layers), layer: (name) => layers[name], load, setVisible };
}
