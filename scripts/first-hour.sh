#!/usr/bin/env bash
# A new user's first hour, replayed on a fresh clone of this repository (what is committed, in a
# scratch folder, with a scratch HOME): the README's quick start, the demo with a recording, the
# simulator on that recording, a Rust shunt config.toml run as its service file runs it
# (`shunt start --foreground`), `shunt status`, `shunt stop`, and `shunt service install --dry-run`.
# Any step that does not do what the docs say stops the script with the step's output and exit 1.
#
#   scripts/first-hour.sh            (CI runs it; it needs pnpm and the npm registry, no network else)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/shunt-first-hour.XXXXXX")
proxy_pid=""
mock_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n--> first hour: %s\n' "$*"; }
# fail WHAT [FILE…]: say what went wrong, show the files (the step's output), exit 1.
fail() {
  local what=$1
  shift
  printf '\nFIRST HOUR FAILED: %s\n' "$what" >&2
  for file in "$@"; do
    printf -- '----- %s\n' "$file" >&2
    cat "$file" >&2 || true
  done
  exit 1
}
# expect FILE PATTERN WHAT: the file must contain the (extended regex) pattern.
expect() { grep -Eq -- "$2" "$1" || fail "$3 (no /$2/)" "$1"; }
# wait_for FILE PATTERN WHAT: up to 60 s for the pattern to show up in the file.
wait_for() {
  for _ in $(seq 600); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "$3: nothing matched /$2/ within 60 s" "$1"
}

export HOME="$work/home"
mkdir -p "$HOME"
unset SHUNT_CONFIG XDG_CONFIG_HOME XDG_DATA_HOME
log="$work/log"
mkdir -p "$log"

step "a fresh clone"
head=$(git -C "$repo" rev-parse HEAD)
{ git clone --quiet "$repo" "$work/shunt" && git -C "$work/shunt" checkout --quiet "$head"; } >"$log/clone" 2>&1 || fail "git clone" "$log/clone"
cd "$work/shunt"

step "quick start (README): pnpm install && pnpm shunt demo && pnpm sim traces/week.csv"
pnpm install --frozen-lockfile >"$log/install" 2>&1 || fail "pnpm install" "$log/install"
pnpm shunt demo >"$log/demo" 2>&1 || fail "pnpm shunt demo" "$log/demo"
expect "$log/demo" "Every request was served" "the demo served every request"
pnpm sim traces/week.csv --no-progress >"$log/sim-week" 2>&1 || fail "pnpm sim traces/week.csv" "$log/sim-week"
expect "$log/sim-week" "^maximus +[0-9]" "the simulator compared the strategies"

step "the demo with a recording, into a folder that does not exist yet"
# Quoted: shunt itself expands ~ (as for --record=~/… and record_trace = \"~/…\").
pnpm shunt demo --record '~/shunt/demo.csv' >"$log/demo-record" 2>&1 || fail "pnpm shunt demo --record" "$log/demo-record"
[ -s "$HOME/shunt/demo.csv" ] || fail "the demo wrote no recording at $HOME/shunt/demo.csv" "$log/demo-record"
expect "$log/demo-record" "Recorded [0-9]+ rows to $HOME/shunt/demo.csv" "the demo said where it recorded"

step "the simulator on that recording"
pnpm sim "$HOME/shunt/demo.csv" --no-progress >"$log/sim-demo" 2>&1 || fail "pnpm sim on the demo's recording" "$log/sim-demo"
expect "$log/sim-demo" "^alpha " "the simulator replayed the demo's accounts"
expect "$log/sim-demo" "^carousel +[0-9]" "the simulator compared the strategies on the recording"

step "a mock Anthropic API for the Rust config to point at"
(cd packages/node-proxy && exec node --conditions=@shunt/source --import tsx --input-type=module -e '
  import { createMockUpstream } from "./src/mock-upstream.ts";
  const mock = createMockUpstream({ accounts: [{ name: "work", key: "key-work" }, { name: "home", key: "key-home" }] });
  console.log(`mock ${await mock.listen()}`);
  process.on("SIGTERM", () => mock.close().then(() => process.exit(0)));
') >"$log/mock" 2>&1 &
mock_pid=$!
wait_for "$log/mock" "^mock http" "the mock API started"
mock_url=$(sed -n 's/^mock //p' "$log/mock")

step "a Rust shunt config.toml, run as its service file runs it: shunt start --foreground"
mkdir -p "$HOME/.config/shunt"
cat >"$HOME/.config/shunt/config.toml" <<TOML
# The Rust shunt's layout, with keys this proxy warns about and ignores.
[server]
host = "127.0.0.1"
port = 0
control_port = 0
log_level = "info"
upstream_url = "$mock_url"
health_check_enabled = true
rate_limit_rpm = 0
record_trace = "~/shunt/my-week.csv"

[model_mapping]
"claude-sonnet-4-6" = "gpt-4o"

[[accounts]]
name = "work"
plan_type = "max"
api_key_env = "ANTHROPIC_KEY_WORK"

[[accounts]]
name = "home"
api_key_env = "ANTHROPIC_KEY_HOME"

[[accounts]]
name = "groq"
provider = "groq"
TOML
# The control port is chosen by the OS (port 0): shunt status and stop read it from the banner.
ANTHROPIC_KEY_WORK=key-work ANTHROPIC_KEY_HOME=key-home pnpm shunt start --foreground >"$log/start" 2>&1 &
proxy_pid=$!
wait_for "$log/start" "ANTHROPIC_BASE_URL=" "shunt start --foreground printed its banner"
expect "$log/start" "2 of 2 accounts usable" "the banner counted the usable accounts"
expect "$log/start" "recording to $HOME/shunt/my-week.csv" "the banner said where it records"
# The JSON log is written asynchronously: it may come after the banner.
wait_for "$log/start" "server.health_check_enabled: not supported" "the Rust-only key was named in a warning"
proxy_url=$(sed -n 's/^  proxy   \(http[^ ]*\)$/\1/p' "$log/start")
control_port=$(sed -n 's/^  control http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log/start")
curl -fsS "$proxy_url/v1/messages" -H 'content-type: application/json' -H 'x-api-key: unused' \
  -d '{"model":"claude-sonnet-4-6","max_tokens":8,"messages":[{"role":"user","content":"hello"}]}' >"$log/request" 2>&1 ||
  fail "a request through the proxy" "$log/request" "$log/start"
expect "$log/request" "served by (work|home)" "the request was served by a pooled account"

step "shunt status"
# The status commands find the proxy through the config's control_port: the one it got.
sed -i "s/^control_port = 0$/control_port = $control_port/" "$HOME/.config/shunt/config.toml"
pnpm shunt status >"$log/status" 2>&1 || fail "shunt status" "$log/status"
expect "$log/status" "^work +max" "shunt status listed the account work"
expect "$log/status" "^recording: $HOME/shunt/my-week.csv, [0-9]+ rows?" "shunt status showed the recording"
pnpm shunt use home >"$log/use" 2>&1 || fail "shunt use home (the Rust name of pin)" "$log/use"
set +e
pnpm shunt use nobody >"$log/use-nobody" 2>&1
code=$?
set -e
[ "$code" = 2 ] || fail "shunt use nobody should exit 2, exited $code" "$log/use-nobody"
expect "$log/use-nobody" "accounts: work, home" "shunt use nobody listed the accounts"

step "shunt stop"
pnpm shunt stop >"$log/stop" 2>&1 || fail "shunt stop" "$log/stop" "$log/start"
wait "$proxy_pid" || fail "shunt start did not exit 0 after shunt stop" "$log/start"
proxy_pid=""
[ -s "$HOME/shunt/my-week.csv" ] || fail "nothing was recorded to ~/shunt/my-week.csv" "$log/start"

step "shunt service install --dry-run"
pnpm shunt service install --dry-run --platform systemd >"$log/service" 2>&1 || fail "shunt service install --dry-run" "$log/service"
expect "$log/service" "^ExecStart=.* start --foreground --config $HOME/.config/shunt/config.toml$" "the unit runs shunt start --foreground"

printf '\nfirst hour: every step did what the docs say\n'
