#!/usr/bin/env bash
# Installs what Gwanje needs and is missing; fast when everything is there.
#   scripts/install.sh          run-time needs (make run)
#   scripts/install.sh --test   plus test needs: Chromium, PostGIS (make test)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# --- system packages (Debian 12 / Ubuntu) ------------------------------------------------------
pkgs=(python3 python3-venv python3-dev libsqlite3-mod-spatialite gdal-bin libproj-dev binutils gettext
      fonts-nanum ca-certificates
      # video: ffmpeg records and cuts; GStreamer's RTSP server simulates cameras (PyGObject builds
      # against girepository 1.0 and cairo)
      ffmpeg gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
      gstreamer1.0-tools
      libgirepository1.0-dev libcairo2-dev pkg-config
      # situations: Mosquitto, the MQTT broker of device events (Gwanje starts its own private one;
      # the package's system service is not used)
      mosquitto mosquitto-clients)
if [ "$want_test" = 1 ]; then
  pkgs+=(chromium postgresql postgresql-postgis)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from Debian or from another repository (e.g. NodeSource, whose nodejs bundles
# npm and conflicts with Debian's npm): only install Debian's when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install: apt packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python: a venv from an interpreter whose sqlite3 can load extensions (SpatiaLite) -----------
pick_python() {
  for py in /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sqlite3, sys; sys.exit(0 if hasattr(sqlite3.Connection, "enable_load_extension") and sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  echo "install: no Python >= 3.11 whose sqlite3 can load extensions (needed for SpatiaLite)" >&2
  return 1
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sqlite3; sqlite3.Connection.enable_load_extension' 2>/dev/null; then
  rm -rf .venv
  "$(pick_python)" -m venv .venv
fi
stamp=.venv/.gwanje-deps
deps_hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$deps_hash" ]; then
  echo "install: Python packages"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  echo "$deps_hash" > "$stamp"
fi

# --- front-end assets from npm into static/vendor (served locally; no CDN) -----------------------
vstamp=static/vendor/.stamp
vhash=$( (cat package.json package-lock.json; cat scripts/install.sh) | sha256sum | cut -c1-16)
if [ "$(cat "$vstamp" 2>/dev/null)" != "$vhash" ]; then
  echo "install: front-end assets"
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf static/vendor && mkdir -p static/vendor/ol static/vendor/htmx static/vendor/swagger-ui static/vendor/hls
  cp node_modules/ol/dist/ol.js node_modules/ol/ol.css static/vendor/ol/
  cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/
  cp node_modules/hls.js/dist/hls.min.js static/vendor/hls/  # playback: HLS over MSE (Chromium has no native HLS)
  for f in swagger-ui.css swagger-ui-bundle.js swagger-ui-standalone-preset.js favicon-32x32.png favicon-16x16.png; do
    cp "node_modules/swagger-ui-dist/$f" static/vendor/swagger-ui/
  done
  echo "$vhash" > "$vstamp"
fi

# --- translations ------------------------------------------------------------------------------
for po in locale/*/LC_MESSAGES/*.po; do
  [ -e "$po" ] || continue
  mo="${po%.po}.mo"
  if [ ! -e "$mo" ] || [ "$po" -nt "$mo" ]; then
    msgfmt --check -o "$mo" "$po"
  fi
done
