#!/usr/bin/env bash
# The director's admissions end to end over HTTP: wrk (on core 1) sends `GET /play/OBJECT`
# from CLIENTS keep-alive connections for SECONDS to a director pinned alone on core 0; every
# 302 is one admission (path + reservation + lease, persisted to SQLite). Nobody claims the
# streams, so every lease stays live for the whole run: the director's resident memory before
# and after gives its cost per live lease.
#
#   Benchmarks/director-admission.sh [CLIENTS] [SECONDS]
#   DIRECTOR_CPU=0-1 WRK_CPU=0-1 Benchmarks/director-admission.sh 256 10   (both float over both cores)
clients=${1:-256}
seconds=${2:-10}
command -v wrk >/dev/null || { echo "wrk is the load generator: apt-get install wrk" >&2; exit 1; }
DIRECTOR_CPU=${DIRECTOR_CPU:-0} ENGINE_CPU=1 source "$(dirname "$0")/cluster.sh"
DIRECTOR_CPU=${DIRECTOR_CPU:-0} ENGINE_CPU=1 start_cluster
put_sample tiny 60 100000
rss_before=$(rss_kib "$director")
before=$(ticks "$director")
taskset -c "${WRK_CPU:-1}" wrk -t 1 -c "$clients" -d "${seconds}s" --latency -H "Authorization: Bearer bench" "$http/play/tiny" > "$work/wrk.out"
cpu=$(cpu_percent "$before" "$(ticks "$director")" "$seconds")
rss_after=$(rss_kib "$director")
leases=$(curl -sf -H "Authorization: Bearer bench" "$http/v1/streams" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
cat "$work/wrk.out" >&2
python3 - "$work/wrk.out" "$clients" "$seconds" "$cpu" "$rss_before" "$rss_after" "$leases" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def unit(value, suffix):
    scale = {"us": 1e-3, "ms": 1, "s": 1e3}
    return float(value) * scale[suffix]
lat = {p: unit(*re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()) for p in ("50", "99")}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
clients, seconds, cpu, before, after, leases = sys.argv[2:]
print(json.dumps({
    "clients": int(clients), "seconds": int(seconds), "admissionsPerSecond": rps,
    "latencyP50Milliseconds": lat["50"], "latencyP99Milliseconds": lat["99"],
    "non3xx": int(errors.group(1)) if errors else 0, "directorCPUPercent": float(cpu),
    "liveLeases": int(leases), "directorRSSKiBBefore": int(before), "directorRSSKiBAfter": int(after),
    "bytesPerLiveLease": round((int(after) - int(before)) * 1024 / max(1, int(leases))),
}))
PY
