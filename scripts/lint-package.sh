#!/usr/bin/env bash
# Lint a package as it will be published: publint --strict on the packed tarball, then
# arethetypeswrong on the same tarball. pnpm pack applies publishConfig (which drops the
# workspace-only "@shunt/source" export condition), so this checks what users install.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pnpm pack --pack-destination "$out" >/dev/null
tarball=$(ls "$out"/*.tgz)
publint --strict "$tarball"
attw "$tarball" --profile esm-only
