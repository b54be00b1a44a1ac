#!/bin/sh
# Grafana's entrypoint in docker-compose.yml, for a network that cannot reach grafana.com: a
# plugin zip in the mounted folder (TTHC_GRAFANA_PLUGINS, default deploy/grafana/plugins/) is
# unpacked into Grafana's plugin folder, and the download of GF_INSTALL_PLUGINS is skipped. With
# no zip there, Grafana downloads the plugins as usual (the online default).
set -eu
zips="${TTHC_PLUGIN_ZIPS:-/opt/tthc/plugins}"
found=0
for zip in "$zips"/*.zip; do
    [ -f "$zip" ] || continue
    echo "tthc: installing the plugin in $zip (offline)"
    mkdir -p "$GF_PATHS_PLUGINS"
    unzip -oq "$zip" -d "$GF_PATHS_PLUGINS"
    found=1
done
if [ "$found" = 1 ]; then
    export GF_INSTALL_PLUGINS=""
fi
exec "${TTHC_GRAFANA_RUN:-/run.sh}" "$@"
