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
# lost to a power failure. pg_stat_statements is loaded: the statements that took the most
# database time during the run are written to stderr (PROFILE=0 leaves them out). The JSON line
# also gives the CPU time the directors and PostgreSQL's processes used per admission (from
# /proc ticks over the run).
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
        -c synchronous_commit=off -c max_connections=200 -c shared_preload_libraries=pg_stat_statements \
        -c pg_stat_statements.track=all >"$work/pg/log" 2>&1 &
    for _ in $(seq 100); do "$pg/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
    psql_pg() { psql -h 127.0.0.1 -p "$port" -U sluice -d postgres -X -q -A "$@"; }
    psql_pg -c "CREATE EXTENSION pg_stat_statements" >/dev/null
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
# CPU ticks of the directors and of every PostgreSQL process, before and after the load.
director_pids=$(pgrep -f "$bin director" | tr '\n' ' ')
database_ticks() { local sum=0; for pid in $(pgrep -x postgres); do sum=$((sum + $(ticks "$pid" 2>/dev/null || echo 0))); done; echo "$sum"; }
process_ticks() { local sum=0; for pid in $director_pids; do sum=$((sum + $(ticks "$pid"))); done; echo "$sum"; }
[ "$directors" != sqlite ] && psql_pg -c "SELECT pg_stat_statements_reset()" >/dev/null
directors_before=$(process_ticks)
database_before=$(database_ticks)
per=$(( clients / ${#urls[@]} ))
loads=()
for i in "${!urls[@]}"; do
    wrk -t 1 -c "$per" -d "${seconds}s" --latency -H "Authorization: Bearer bench" "${urls[$i]}/play/tiny" > "$work/wrk$i.out" &
    loads+=($!)
done
wait "${loads[@]}"
directors_ticks=$(( $(process_ticks) - directors_before ))
database_ticks_used=$(( $(database_ticks) - database_before ))
if [ "$directors" != sqlite ] && [ "${PROFILE:-1}" != 0 ]; then
    echo "statements by database time during the run (pg_stat_statements):" >&2
    psql_pg -F ' | ' -P footer=off -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
        round(mean_exec_time::numeric * 1000, 1) AS mean_us, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8" >&2
fi
python3 - "$directors" "$clients" "$seconds" "$directors_ticks" "$database_ticks_used" "$(getconf CLK_TCK)" "$work"/wrk*.out <<'PY'
import json, re, sys
directors, clients, seconds, director_ticks, database_ticks, hz = sys.argv[1:7]
sys.argv = sys.argv[:4] + sys.argv[7:]
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
    "directorCpuMicrosecondsPerAdmission": round(int(director_ticks) / int(hz) * 1e6 / (total * int(seconds)), 1) if total else None,
    "databaseCpuMicrosecondsPerAdmission": None if directors == "sqlite" or not total
        else round(int(database_ticks) / int(hz) * 1e6 / (total * int(seconds)), 1),
}))
PY
