#!/usr/bin/env bash
# Renders every printout (contact card, visit list, daily report, hours
# certificate) of a fixture station to PNG in headless Chromium, A4-sized,
# so a person can look at them. Needs Debian's chromium and a CJK font
# (installed here if missing). Usage: scripts/render-printouts.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/printouts}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v chromium >/dev/null || ! fc-list | grep -qi "Noto Sans CJK"; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk
fi

cargo build -q -p anxin-cli
anxin="${CARGO_TARGET_DIR:-target}/debug/anxin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
store="$work/station.db"
"$anxin" --store "$store" fixture --households 300 --seed 7 >/dev/null
grid="$("$anxin" --store "$store" grids --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
worker="$("$anxin" --store "$store" hours --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["worker_id"])')"
"$anxin" --store "$store" print contact-card --grid "$grid" --out "$out/contact-card.html" >/dev/null
"$anxin" --store "$store" print visit-list --grid "$grid" --out "$out/visit-list.html" >/dev/null
"$anxin" --store "$store" print today --out "$out/today.html" >/dev/null
"$anxin" --store "$store" print certificate --worker "$worker" --from 2025-01-01 --out "$out/certificate.html" >/dev/null

for page in contact-card visit-list today certificate; do
  # 794 × 1123 CSS pixels is A4 at 96 dpi.
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --hide-scrollbars \
    --window-size=794,1123 --screenshot="$out/$page.png" "file://$out/$page.html" 2>/dev/null
  echo "$out/$page.png"
done
