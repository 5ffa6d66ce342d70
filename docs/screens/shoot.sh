#!/usr/bin/env bash
# Screenshots of four Carnet pages at one commit, for before/after pairs.
#
#   bash docs/screens/shoot.sh <commit> <outdir>
#
# 1. a worktree of /work/main at <commit> in /tmp/shoot-<short commit> (reused if it exists),
#    `make install` there;
# 2. a fresh temporary CARNET_DATA_DIR (SQLite, no Redis), CARNET_DEBUG=1: `carnet db upgrade`,
#    `carnet demo-data` (the logins it prints), `carnet serve --port <free port>` in the background;
# 3. shoot.py (Playwright for Python from that worktree's .venv, Debian's chromium) writes
#    catalog-1280, booking-1280, booking-390, home-family-390, home-family-1280 and
#    partner-session-390 (.png, or .missing.txt with the reason);
# 4. stops the server, removes the data dir, prints the files written.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: bash $0 <commit> <outdir>" >&2
    exit 2
fi
COMMIT_ARG=$1
OUTDIR=$(mkdir -p "$2" && cd "$2" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAIN=/work/main

SHA=$(git -C "$MAIN" rev-parse --verify --quiet "${COMMIT_ARG}^{commit}") || {
    echo "shoot.sh: unknown commit '$COMMIT_ARG' in $MAIN" >&2
    exit 2
}
SHORT=$(git -C "$MAIN" rev-parse --short=7 "$SHA")
WT=/tmp/shoot-$SHORT
say() { echo "[shoot.sh] $*"; }

# --- 1. the worktree -----------------------------------------------------------------------------
git -C "$MAIN" worktree prune
if [[ -e "$WT/.git" ]]; then
    HEAD_SHA=$(git -C "$WT" rev-parse HEAD)
    if [[ "$HEAD_SHA" != "$SHA" ]]; then
        echo "shoot.sh: $WT exists at $HEAD_SHA, not $SHA; remove it with 'git -C $MAIN worktree remove $WT'" >&2
        exit 1
    fi
    say "reusing the worktree $WT ($SHORT)"
else
    say "creating the worktree $WT ($SHORT)"
    git -C "$MAIN" worktree add --detach "$WT" "$SHA" >/dev/null
fi
cd "$WT"
say "make install"
nice -n 5 make install >"$WT/.shoot-install.log" 2>&1 || {
    tail -20 "$WT/.shoot-install.log" >&2
    exit 1
}

# --- 2. a fresh database with the demo data, and the server --------------------------------------
# Nothing of the caller's environment leaks in: no Redis, no PostgreSQL, no SMTP, no Stripe, no OIDC.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^CARNET_' || true)
export CARNET_DATA_DIR
CARNET_DATA_DIR=$(mktemp -d /tmp/shoot-data-"$SHORT".XXXXXX)
export CARNET_DEBUG=1
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        say "stopping the server (pid $SERVER_PID)"
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$CARNET_DATA_DIR"
}
trap cleanup EXIT

say "carnet db upgrade (data dir $CARNET_DATA_DIR)"
nice -n 5 .venv/bin/carnet db upgrade >"$CARNET_DATA_DIR/upgrade.log" 2>&1 || {
    tail -20 "$CARNET_DATA_DIR/upgrade.log" >&2
    exit 1
}
say "carnet demo-data"
nice -n 5 .venv/bin/carnet demo-data >"$CARNET_DATA_DIR/demo.log" 2>&1 || {
    tail -20 "$CARNET_DATA_DIR/demo.log" >&2
    exit 1
}

# The demo logins: as `carnet demo-data` prints them (« famille : e-mail / mot de passe »), else as
# the commit's README gives them, else the constants of catalog/demo.py.
login_of() {  # $1: the label printed by demo-data (famille, partenaire)
    sed -n -E "s/^[[:space:]]*$1[[:space:]]*:[[:space:]]*([^[:space:]]+@[^[:space:]]+)[[:space:]]*\/[[:space:]]*([^[:space:]]+)[[:space:]]*$/\1 \2/p" \
        "$CARNET_DATA_DIR/demo.log" README.md | head -1
}
read -r FAMILY_EMAIL FAMILY_PASSWORD <<<"$(login_of famille)" || true
read -r PARTNER_EMAIL PARTNER_PASSWORD <<<"$(login_of partenaire)" || true
if [[ -z "${FAMILY_EMAIL:-}" || -z "${PARTNER_EMAIL:-}" ]]; then
    say "the demo logins are not in demo-data's output nor in README.md: reading catalog/demo.py"
    read -r FAMILY_EMAIL FAMILY_PASSWORD PARTNER_EMAIL PARTNER_PASSWORD < <(.venv/bin/python -c '
from catalog import demo
print(demo.FAMILY_EMAIL, demo.FAMILY_PASSWORD, demo.PARTNERS[0].manager[2], demo.PARTNER_PASSWORD)')
fi
say "family $FAMILY_EMAIL, partner $PARTNER_EMAIL"

PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "carnet serve --port $PORT"
# Its own process group (setsid), so that stopping it stops whatever it started.
setsid nice -n 5 .venv/bin/carnet serve --port "$PORT" >"$CARNET_DATA_DIR/serve.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$PORT
for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "$BASE/health" 2>/dev/null || curl -fsS -o /dev/null "$BASE/" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "shoot.sh: carnet serve stopped:" >&2
        tail -20 "$CARNET_DATA_DIR/serve.log" >&2
        exit 1
    fi
    sleep 0.5
done
curl -fsS -o /dev/null "$BASE/" || {
    echo "shoot.sh: $BASE does not answer" >&2
    tail -20 "$CARNET_DATA_DIR/serve.log" >&2
    exit 1
}

# --- 3. the screenshots --------------------------------------------------------------------------
for name in catalog-1280 booking-1280 booking-390 home-family-390 home-family-1280 partner-session-390 booking-submit; do
    rm -f "$OUTDIR/$name.png" "$OUTDIR/$name.missing.txt"
done
say "screenshots into $OUTDIR"
status=0
nice -n 5 .venv/bin/python "$HERE/shoot.py" "$BASE" "$OUTDIR" \
    "$FAMILY_EMAIL" "$FAMILY_PASSWORD" "$PARTNER_EMAIL" "$PARTNER_PASSWORD" >"$CARNET_DATA_DIR/shoot.log" 2>&1 || status=$?
grep -v '^/' "$CARNET_DATA_DIR/shoot.log" || true
if [[ $status -ne 0 ]]; then
    echo "shoot.sh: shoot.py failed ($status)" >&2
fi
if grep -q ' 500 ' "$CARNET_DATA_DIR/serve.log"; then
    say "the server answered 500 to:"; grep ' 500 ' "$CARNET_DATA_DIR/serve.log" | head -5
fi

# --- 4. stop, clean, list ------------------------------------------------------------------------
cleanup
SERVER_PID=""
trap - EXIT
say "files written for $COMMIT_ARG ($SHORT):"
ls -1 "$OUTDIR"/catalog-1280.* "$OUTDIR"/booking-1280.* "$OUTDIR"/booking-390.* \
    "$OUTDIR"/home-family-390.* "$OUTDIR"/home-family-1280.* "$OUTDIR"/partner-session-390.* \
    "$OUTDIR"/booking-submit.* 2>/dev/null || true
exit $status
