#!/usr/bin/env bash
# Sourced by ./chat test: the browser tests drive Chromium through playwright-core, which brings
# no browser of its own. CHROMIUM_PATH names it, else /usr/bin/chromium. Where it is missing and
# we are root with apt-get, Debian's chromium package is installed (its output kept in a log,
# shown only when the install fails); a package list too old to know it gets one apt-get update.
# Debian's colour emoji font comes along, so reactions in the screenshots are not empty boxes.
# Still missing: stop here with what to do, rather than failing every browser test one by one.
_chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
_packages=()
[ -x "$_chromium" ] || _packages+=(chromium)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || _packages+=(fonts-noto-color-emoji)
if [ ${#_packages[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  _root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  _log="$_root/.data/logs/apt-chromium.log"
  mkdir -p "$(dirname "$_log")"
  echo "ensure-chromium: installing Debian's ${_packages[*]} for the browser tests" >&2
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
if [ ! -x "$_chromium" ]; then
  echo "ensure-chromium: no Chromium at $_chromium for the browser tests; install Debian's chromium package (as root: apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary" >&2
  exit 1
fi
export CHROMIUM_PATH="$_chromium"
unset _chromium
