#!/usr/bin/env bash
# Installs the Debian packages that the local stack and the tests need, only those missing:
#   Java 17+ and Maven  (the Kafka broker, run from Maven Central jars: deploy/kafka/)
#   prometheus          (promtool checks the Prometheus config and unit-tests alert rules)
#   prometheus-alertmanager
#   python3-venv        (only where python3 cannot make a venv by itself)
#   libpango-1.0-0, libpangoft2-1.0-0  (WeasyPrint lays out the periodic report's PDF with Pango)
#   fonts-liberation2, fonts-dejavu-core  (the report's fonts: Times New Roman's metric twin,
#                        and the charts' sans; both have every Vietnamese letter)
#   poppler-utils       (tests render the report's PDF with pdftoppm and read it with pdftotext)
# Safe to run again: with everything present it changes nothing and asks no network.
set -euo pipefail

say() { echo "system-deps: $*"; }

java_ok() {
    command -v java >/dev/null 2>&1 || return 1
    local version
    version="$(java -version 2>&1 | sed -n 's/.*version "\([^".]*\).*/\1/p' | head -n1)"
    [[ "$version" =~ ^[0-9]+$ && "$version" -ge 17 ]]
}
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
java_ok || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
deb_installed prometheus && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
deb_installed prometheus-alertmanager || missing+=(prometheus-alertmanager)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
for package in libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation2 fonts-dejavu-core poppler-utils; do
    deb_installed "$package" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    say "all present: java, maven, promtool, alertmanager, pango, fonts, poppler"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
    { say "missing ${missing[*]}, and there is no apt-get here: install them by hand" >&2; exit 1; }
SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 ||
        { say "missing ${missing[*]}: run this script as root (or install sudo)" >&2; exit 1; }
    SUDO=(sudo)
fi

say "installing ${missing[*]}"
log="$(mktemp)"
# Debian's prometheus and alertmanager packages start their daemons on install, listening
# on every interface. Nothing here wants them as services (tests use promtool, and the
# project starts what it needs itself), so a policy-rc.d forbids starts during the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    own_policy=1
fi
cleanup() {
    if ((own_policy)); then "${SUDO[@]}" rm -f "$policy"; fi
    rm -f "$log"
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq &&
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    say "apt-get failed (output above)" >&2
    exit 1
fi
java_ok || { say "java 17+ still not found after the install" >&2; exit 1; }
command -v promtool >/dev/null 2>&1 || { say "promtool still not found after the install" >&2; exit 1; }
say "installed ${missing[*]}"
