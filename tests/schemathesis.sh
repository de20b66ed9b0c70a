#!/usr/bin/env bash
# Schemathesis against a freshly started console: every operation of /_ref/openapi.json is
# called with generated valid and invalid input, authenticated with the owner token, and
# every answer is checked against the document (no 5xx, documented status codes, content
# types, headers and response schemas).
#
#   tests/schemathesis.sh <owner-console binary> [extra schemathesis options]
#
# Every check runs except positive_data_acceptance: the document describes shapes, and some
# schema-valid requests are still rightly refused by rules a schema cannot state (a stream
# the connection's connector does not declare, `connection` combined with paging, a status
# a new connection cannot start in, an id that does not exist).
#
# The server runs on a free loopback port over a new SQLite database seeded with the demo
# fleet, and is stopped afterwards. SCHEMATHESIS_MAX_EXAMPLES (default 30) bounds the cases
# per operation; SCHEMATHESIS_SEED makes a run reproducible (default: fixed).
set -euo pipefail

bin="${1:?usage: tests/schemathesis.sh <owner-console binary> [schemathesis options]}"
shift
command -v schemathesis >/dev/null 2>&1 || { echo "schemathesis is not installed" >&2; exit 1; }

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="oc_schemathesis_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
password="schemathesis $(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"

OWNER_PASSWORD="$password" OWNER_TOKEN="$token" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  LEPTOS_OUTPUT_NAME="${LEPTOS_OUTPUT_NAME:-owner-console}" \
  "$bin" serve --database-url "sqlite://$work/console.db" --demo >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/_ref/openapi.json"; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "the server exited during start-up:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.5
done

# From the scratch folder, so schemathesis' own state files stay out of the project.
status=0
(cd "$work" && schemathesis run "$base/_ref/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
  --seed "${SCHEMATHESIS_SEED:-20260301}" \
  --workers 2 \
  --request-timeout 30 \
  --generation-database none \
  --no-color \
  "$@") || status=$?

if [ "$status" -ne 0 ]; then
  echo "--- server log (last 50 lines) ---" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
