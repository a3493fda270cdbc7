#!/usr/bin/env bash
# Warm-run and CLI-start benchmark on the local provider, against plain ssh over the
# same ControlMaster in the same run. Medians of hyperfine runs; needs hyperfine
# (apt-get install hyperfine). Usage: scripts/bench-warm-run.sh [runs]
set -euo pipefail
runs=${1:-20}
repo_root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${CRABBOX_BENCH_BINARY:-}" ]; then
  cargo build --release -q --manifest-path "$repo_root/Cargo.toml" -p crabbox-cli
  export CRABBOX_BENCH_BINARY="$repo_root/target/release/crabbox"
  # As root, measure as a fresh unprivileged user: a runner's login shell should not
  # carry this machine's root startup files (pyenv, cargo env) into the numbers.
  if [ "$(id -u)" = 0 ] && [ -z "${CRABBOX_BENCH_AS_ROOT:-}" ]; then
    id crabbox-bench >/dev/null 2>&1 || useradd -m -s /bin/bash crabbox-bench
    copy=$(mktemp -d /tmp/cbx-bench-bin-XXXXXX)
    cp "$CRABBOX_BENCH_BINARY" "$0" "$copy/"
    chmod -R a+rx "$copy"
    trap 'rm -rf "$copy"' EXIT
    runuser -u crabbox-bench -- env CRABBOX_BENCH_BINARY="$copy/crabbox" PATH="$PATH" \
      bash "$copy/$(basename "$0")" "$runs"
    exit
  fi
fi
crabbox="$CRABBOX_BENCH_BINARY"
work=$(mktemp -d /tmp/cbx-bench-XXXXXX)
trap 'HOME="$work/home" "$crabbox" stop "${lease:-none}" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/repo"
export HOME="$work/home"
unset XDG_STATE_HOME XDG_CONFIG_HOME
cd "$work/repo"
git init -q && echo bench > file.txt && git add . && git -c user.email=b@b -c user.name=b commit -qm init
lease=$("$crabbox" warmup 2>/dev/null | awk '/^leased/{print $2}')
ssh_line=$("$crabbox" ssh "$lease")
"$crabbox" run --id "$lease" -- true >/dev/null 2>&1   # first sync happens here
hyperfine -N -w 3 -r "$runs" --export-json "$work/result.json" \
  -n "crabbox --version" "$crabbox --version" \
  -n "crabbox status --id" "$crabbox status --id $lease" \
  -n "ssh master: true" "$ssh_line true" \
  -n "ssh master: bash -lc true" "$ssh_line 'bash -lc true'" \
  -n "crabbox run --no-sync -- true" "$crabbox run --id $lease --no-sync -- true" \
  -n "crabbox run -- true (sync)" "$crabbox run --id $lease -- true" >/dev/null
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
median = {r["command"]: r["median"] * 1000 for r in results}
print(f"{'benchmark':34} {'median ms':>10}")
for name, value in median.items():
    print(f"{name:34} {value:10.1f}")
base = median["ssh master: true"]
login = median["ssh master: bash -lc true"]
run = median["crabbox run --no-sync -- true"]
print(f"\nwarm run overhead over `ssh -S master true`: {run - base:+.1f} ms")
print(f"warm run overhead over `ssh -S master 'bash -lc true'`: {run - login:+.1f} ms")
PY
echo "handshakes accepted by the lease's sshd: $(grep -c 'Accepted publickey' "$HOME/.config/crabbox/state/local/$lease/sshd.log")"
