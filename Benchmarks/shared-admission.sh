#!/usr/bin/env bash
# Admissions per second and p99 admission latency with DIRECTORS directors sharing one
# PostgreSQL, side by side with one director on its embedded SQLite, on this machine. wrk sends
# `GET /play/OBJECT` from CLIENTS keep-alive connections in all (split evenly, one wrk per
# director) for SECONDS; every 302 is one admission booked in the store (for PostgreSQL: one
# `sluice_admit` transaction). Directors, PostgreSQL and wrk share both cores (nothing pinned);
# leases stay live all run (nobody claims them within the default claimTimeout of 15 s).
#
# PostgreSQL runs from a temporary directory with `synchronous_commit=off`: like SQLite's WAL
# with `synchronous=NORMAL`, a commit survives a crash of the server but the last commits may be
# lost to a power failure.
#
#   Benchmarks/shared-admission.sh [DIRECTORS|sqlite] [CLIENTS] [SECONDS]
set -euo pipefail
directors=${1:-2}
clients=${2:-256}
seconds=${3:-10}
command -v wrk >/dev/null || { echo "wrk is the load generator: apt-get install wrk" >&2; exit 1; }
export DIRECTOR_CPU=0-1 ENGINE_CPU=0-1
source "$(dirname "$0")/cluster.sh"

if [ "$directors" != sqlite ]; then
    pg=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    [ -x "$pg/postgres" ] || { echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
    as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    install -d -o "$( [ "$(id -u)" = 0 ] && echo postgres || id -un)" "$work/pg"
    "${as[@]}" "$pg/initdb" -D "$work/pg/data" -U sluice --auth=trust -E UTF8 >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as[@]}" "$pg/postgres" -D "$work/pg/data" -p "$port" -k "$work/pg" -c listen_addresses=127.0.0.1 \
        -c synchronous_commit=off -c max_connections=200 >"$work/pg/log" 2>&1 &
    for _ in $(seq 100); do "$pg/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
    export STORE="postgres://sluice@127.0.0.1:$port/postgres?sslmode=disable"
    # Directors and engine first (they close their connections), then the server itself
    # (killing runuser does not stop it).
    trap 'kill $(jobs -p) 2>/dev/null || true; sleep 2; "${as[@]}" "$pg/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
start_cluster
urls=("$http")
if [ "$directors" != sqlite ]; then
    for n in $(seq 1 $((directors - 1))); do add_director "$n"; done
    sleep 2  # the others learn the engine from the store
fi
put_sample tiny 60 100000
per=$(( clients / ${#urls[@]} ))
loads=()
for i in "${!urls[@]}"; do
    wrk -t 1 -c "$per" -d "${seconds}s" --latency -H "Authorization: Bearer bench" "${urls[$i]}/play/tiny" > "$work/wrk$i.out" &
    loads+=($!)
done
wait "${loads[@]}"
python3 - "$directors" "$clients" "$seconds" "$work"/wrk*.out <<'PY'
import json, re, sys
directors, clients, seconds = sys.argv[1:4]
def unit(value, suffix):
    return float(value) * {"us": 1e-3, "ms": 1, "s": 1e3}[suffix]
total, p50s, p99s, non3xx = 0.0, [], [], 0
for path in sys.argv[4:]:
    text = open(path).read()
    total += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50s.append(unit(*re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()))
    p99s.append(unit(*re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non3xx += int(errors.group(1)) if errors else 0
print(json.dumps({
    "store": "sqlite" if directors == "sqlite" else "postgres", "directors": 1 if directors == "sqlite" else int(directors),
    "clients": int(clients), "seconds": int(seconds), "admissionsPerSecond": round(total),
    "latencyP50Milliseconds": max(p50s), "latencyP99Milliseconds": max(p99s), "non3xx": non3xx,
}))
PY
