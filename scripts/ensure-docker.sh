#!/usr/bin/env bash
# Sourced by ./chat test:docker: a Docker engine that answers, with Compose and debootstrap.
# When they are missing and we are root with apt-get, Debian's docker.io, docker-compose and
# debootstrap are installed; when no engine answers and we are root, dockerd is started in the
# background (log in .data/logs/dockerd.log) and awaited. Otherwise: stop with what to do.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$_root/.data/logs"
_packages=()
command -v dockerd >/dev/null 2>&1 || _packages+=(docker.io)
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } || _packages+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || _packages+=(debootstrap)
if [ ${#_packages[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: installing Debian's ${_packages[*]}" >&2
  _log="$_root/.data/logs/apt-docker.log"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${_packages[@]}" >>"$_log" 2>&1 \
    || { apt-get update -q >>"$_log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${_packages[@]}" >>"$_log" 2>&1; } \
    || tail -n 20 "$_log" >&2
  unset _log
fi
if ! docker info >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd" >&2
  nohup dockerd >>"$_root/.data/logs/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
fi
if ! docker info >/dev/null 2>&1; then
  echo "ensure-docker: no Docker engine answers; install docker.io and start dockerd (as root), or point DOCKER_HOST at one" >&2
  exit 1
fi
unset _root _packages
