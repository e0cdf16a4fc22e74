#!/usr/bin/env bash
# Install `shunt` from this checkout, before (or instead of) the npm registry: build the packages,
# pack them as npm would publish them, install the tarballs together into one folder, and link the
# `shunt` bin into a folder on PATH.
#
#   scripts/install-from-checkout.sh [--with-redis]
#
#   SHUNT_PREFIX   where the packages go      (default ~/.local/share/shunt/install)
#   SHUNT_BIN_DIR  where the `shunt` link goes (default ~/.local/bin)
#   --with-redis   also install @shunt/store-redis (for [state] backend = "redis")
#
# Run it again after `git pull` to update. Remove with: rm -rf "$SHUNT_PREFIX" "$SHUNT_BIN_DIR/shunt"
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=${SHUNT_PREFIX:-$HOME/.local/share/shunt/install}
bindir=${SHUNT_BIN_DIR:-$HOME/.local/bin}
packages=(core node-proxy)
for arg in "$@"; do
  case "$arg" in
    --with-redis) packages+=(store-redis) ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-from-checkout: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

cd "$repo"
pnpm install --frozen-lockfile >/dev/null
pnpm build >/dev/null
tarballs=$(mktemp -d)
trap 'rm -rf "$tarballs"' EXIT
for package in "${packages[@]}"; do
  (cd "packages/$package" && pnpm pack --pack-destination "$tarballs" >/dev/null)
done

mkdir -p "$prefix" "$bindir"
# A folder of its own with a package.json, so npm installs here and not in a parent project.
[ -f "$prefix/package.json" ] || printf '{ "name": "shunt-install", "private": true }\n' >"$prefix/package.json"
# All tarballs in one command: @shunt/node-proxy's dependency on @shunt/core is met by the tarball
# beside it, not looked up on the registry.
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$tarballs"/*.tgz
ln -sf "$prefix/node_modules/.bin/shunt" "$bindir/shunt"
echo "installed shunt $("$bindir/shunt" --version) in $prefix, linked as $bindir/shunt"
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "add $bindir to your PATH, e.g. in ~/.bashrc:  export PATH=\"$bindir:\$PATH\"" ;;
esac
