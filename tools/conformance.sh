#!/usr/bin/env bash
# Starts Roster on a fresh database, runs the two public conformance suites in
# ../shared/conformance against it, and fails on any assertion that is not listed in
# test/conformance/expected-failures.txt (each listed one is explained in
# docs/conformance.md). A clone made elsewhere (a temporary directory) finds the suites
# beside the repository it was cloned from; CONFORMANCE_DIR overrides both.
# Usage: tools/conformance.sh [DATABASE_URL]
set -uo pipefail
cd "$(dirname "$0")/.."
suites="${CONFORMANCE_DIR:-../shared/conformance}"
if [ -z "${CONFORMANCE_DIR:-}" ] && [ ! -f "$suites/run.sh" ]; then
  origin=$(git config --get remote.origin.url 2>/dev/null || true)
  if [ -n "$origin" ] && [ -d "$origin" ] && [ -f "$origin/../shared/conformance/run.sh" ]; then
    suites="$(cd "$origin/../shared/conformance" && pwd)"
  fi
fi
[ -x "$suites/run.sh" ] || [ -f "$suites/run.sh" ] || { echo "conformance: no suites at $suites"; exit 1; }

port=$((20000 + RANDOM % 20000))
token="conformance-$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')"
data=$(mktemp -d)
log=$(mktemp)
out=$(mktemp)
export ROSTER_BOOTSTRAP_TOKEN="$token" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn ROSTER_DATA_DIR="$data"
if [ -n "${1:-}" ]; then export DATABASE_URL="$1"; else unset DATABASE_URL; fi
node_modules/.bin/tsx src/main.ts >"$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data" "$log" "$out"; }
trap cleanup EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "conformance: Roster did not start"; cat "$log"; exit 1; }

PATH="$PWD/node_modules/.bin:$PATH" bash "$suites/run.sh" "http://127.0.0.1:$port/scim/v2" "$token" >"$out" 2>&1
sed 's/\x1b\[[0-9;]*m//g' "$out" > "$out.plain"
node - "$out.plain" test/conformance/expected-failures.txt <<'JS'
const fs = require('fs');
const [report, expectedFile] = process.argv.slice(2);
const text = fs.readFileSync(report, 'utf8');
const expected = new Set(fs.readFileSync(expectedFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
const failures = [];
const lines = text.split('\n');
for (let i = 0; i < lines.length; i++) {
  const m = /^\s*\d+\.\s+(\w*Error)\s+(.*?)\s*$/.exec(lines[i]);
  if (!m) continue;
  for (let j = i + 1; j < Math.min(i + 8, lines.length); j++) {
    const inside = /inside "(.*)"/.exec(lines[j]);
    if (inside) { failures.push(`${inside[1]} | ${m[2]}`); break; }
  }
}
const assertions = /assertions\s*│\s*(\d+)\s*│\s*(\d+)/.exec(text);
const okta = /^(\d+) passed, (\d+) failed/m.exec(text);
const unexpected = failures.filter((f) => !expected.has(f));
const fixed = [...expected].filter((f) => !failures.includes(f));
console.log(`Microsoft reference collection: ${assertions ? `${assertions[1]} assertions, ${assertions[2]} failed` : 'no summary'}; ${failures.length - unexpected.length} of them listed in docs/conformance.md`);
console.log(`Okta SPEC test: ${okta ? `${okta[1]} passed, ${okta[2]} failed` : 'no summary'}`);
for (const f of unexpected) console.log(`UNEXPECTED FAILURE: ${f}`);
for (const f of fixed) console.log(`listed but passing now (remove it from the list): ${f}`);
const ok = assertions && okta && okta[2] === '0' && unexpected.length === 0 && failures.length === Number(assertions[2]);
if (!ok) { console.log(text.slice(-6000)); process.exit(1); }
JS
