#!/usr/bin/env bash
# Sourced by ./chat test: what the tests drive besides the project's own servers, from Debian's
# packages, since no npm package brings them here:
#   - Chromium, for the browser tests through playwright-core (CHROMIUM_PATH, else
#     /usr/bin/chromium), with Debian's colour emoji font so reactions in the screenshots are
#     not empty boxes;
#   - Prometheus, which a test runs to scrape every service (PROMETHEUS_PATH, else
#     /usr/bin/prometheus);
#   - python3-websockets, for the README's Python subscriber (examples/subscribe.py), which the
#     quickstart test runs with /usr/bin/python3.
# What is missing is installed when we are root with apt-get (its output kept in a log, shown
# only when the install fails); a package list too old to know them gets one apt-get update.
# Still missing: stop here with what to do, rather than failing those tests one by one.
_chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
_prometheus="${PROMETHEUS_PATH:-/usr/bin/prometheus}"
_packages=()
[ -x "$_chromium" ] || _packages+=(chromium)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || _packages+=(fonts-noto-color-emoji)
[ -x "$_prometheus" ] || _packages+=(prometheus)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || _packages+=(python3-websockets)
if [ ${#_packages[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  _root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  _log="$_root/.data/logs/apt-test-tools.log"
  mkdir -p "$(dirname "$_log")"
  echo "ensure-test-tools: installing Debian's ${_packages[*]} for the tests" >&2
  _install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${_packages[@]}" >>"$_log" 2>&1; }
  if ! _install; then
    if ! { apt-get update -q >>"$_log" 2>&1 && _install; }; then
      tail -n 20 "$_log" >&2
    fi
  fi
  unset -f _install
  unset _root _log
fi
unset _packages
for _tool in "$_chromium:chromium:CHROMIUM_PATH" "$_prometheus:prometheus:PROMETHEUS_PATH"; do
  IFS=: read -r _path _package _variable <<<"$_tool"
  if [ ! -x "$_path" ]; then
    echo "ensure-test-tools: no $_package at $_path for the tests; install Debian's $_package package (as root: apt-get install $_package) or set $_variable" >&2
    exit 1
  fi
done
export CHROMIUM_PATH="$_chromium" PROMETHEUS_PATH="$_prometheus"
unset _chromium _prometheus _tool _path _package _variable
