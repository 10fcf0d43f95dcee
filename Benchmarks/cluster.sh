# Shared by the benchmark scripts: build sluice (release) and start a director and one engine
# on loopback, the engine pinned to core 0 and the director to core 1 (DIRECTOR_CPU and
# ENGINE_CPU change that). Source it, then call start_cluster. Sets: work, bin, http, rtsp,
# director and engine (their PIDs). TLS=1 makes a self-signed certificate for 127.0.0.1
# (openssl) and serves HTTPS with it; `curl_tls` and `sluice_tls` hold the options that trust it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
chmod 755 "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# SLUICE_BIN runs another build (e.g. to compare two side by side) instead of building this one.
if [ -n "${SLUICE_BIN:-}" ]; then
    bin=$SLUICE_BIN
else
    (cd "$root" && swift build -c release --product sluice >/dev/null)
    bin="$root/.build/release/sluice"
fi

wait_for() {
    for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1
}

# CPU ticks (user + system) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Percent of one core used between two tick counts over SECONDS.
cpu_percent() { awk -v a="$2" -v b="$1" -v hz="$(getconf CLK_TCK)" -v s="$3" 'BEGIN { printf "%.1f", (a - b) / hz / s * 100 }'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Writes PID's resident KiB to FILE after SECONDS (in the background: a mid-run sample).
rss_later() { (sleep "$2"; rss_kib "$1" > "$3") & }

# STORE=postgres://... makes the director use a shared store (see shared-admission.sh).
start_cluster() {
    curl_tls=(); sluice_tls=(); tls_yaml=""; scheme=http
    if [ -n "${TLS:-}" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
        curl_tls=(--cacert "$work/cert.pem"); sluice_tls=(--cacert "$work/cert.pem"); scheme=https
        tls_yaml="tls: { certificate: $work/cert.pem, key: $work/key.pem, ca: $work/cert.pem }"
    fi
    cat > "$work/sluice.yaml" <<YAML
director: { listen: "127.0.0.1:0", rtspListen: "127.0.0.1:0", dataDirectory: director, apiKeys: [bench], maxQueueLength: 0, metricsToken: bench-metrics-token-0123 }
grantSecret: benchmark-secret-0123456789
topology:
  nodes: [{ name: e1, kind: engine }, { name: edge, kind: edge }]
  links: [{ name: e1-edge, from: e1, to: edge, capacity: 5000Tbit }]
clientNetworks: [{ cidr: 127.0.0.0/8, edge: edge }]
engines: [{ name: e1, listen: "127.0.0.1:0", dataDirectory: e1, maxStreams: 1000000, bufferMemory: 1000TiB, rtpBurstWindow: ${RTP_BURST_WINDOW:-8ms} }]
# Every load generator is one address (127.0.0.1): lift the per-address connection cap.
limits: { maxConnectionsPerClient: 1000000 }
$tls_yaml
YAML
    local store=()
    [ -n "${STORE:-}" ] && store=(--store "$STORE" --id d0)
    taskset -c "${DIRECTOR_CPU:-1}" "$bin" director --config "$work/sluice.yaml" "${store[@]}" --log-level warning >"$work/director.out" 2>"$work/director.err" &
    director=$!
    wait_for "$work/director.out" "rtsp listening on"
    http=$(grep -o "$scheme://[0-9.:]*" "$work/director.out" | head -1)
    rtsp=$(grep -o 'rtsp://[0-9.:]*' "$work/director.out" | head -1)
    taskset -c "${ENGINE_CPU:-0}" "$bin" engine --config "$work/sluice.yaml" --name e1 --director "$http" --log-level warning >"$work/engine.out" 2>"$work/engine.err" &
    engine=$!
    wait_for "$work/engine.out" "listening on"
    engine_url=$(grep -o "$scheme://[0-9.:]*" "$work/engine.out" | head -1)
    sleep 1
}

# Saves the engine's pacing-lateness histogram for TRANSPORT (rtp or http) to FILE: one
# "bound count" line per bucket, from its /metrics.
lateness_snapshot() {
    curl -s "${curl_tls[@]}" -H "Authorization: Bearer bench-metrics-token-0123" "$engine_url/metrics" | awk -v t="$1" '
        index($0, "sluice_engine_pacing_lateness_seconds_bucket{") == 1 && index($0, "transport=\"" t "\"") {
            match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $2
        }' > "$2"
}

# The engine's own pacing lateness as JSON, from the histogram snapshots FROM (a file, or
# /dev/null for the start) to TO: packets (or chunks) recorded, the share within 1 and 2 ms of
# schedule, and the upper bound of the bucket holding the 99th percentile (ms).
lateness_between() {
    awk '
        FILENAME == ARGV[1] { before[$1] = $2; next }
        { n++; bound[n] = $1; count[n] = $2 - before[$1] }
        END {
            total = count[n]; p99 = "null"
            for (i = 1; i <= n; i++) {
                if (bound[i] == "0.001") w1 = count[i]
                if (bound[i] == "0.002") w2 = count[i]
                if (p99 == "null" && total > 0 && count[i] >= 0.99 * total) p99 = (bound[i] == "+Inf" ? "\"+Inf\"" : bound[i] * 1000)
            }
            printf "{\"recorded\":%d,\"within1ms\":%.4f,\"within2ms\":%.4f,\"p99BucketMs\":%s}", total, total ? w1 / total : 0, total ? w2 / total : 0, p99
        }' "$1" "$2"
}

# The engine's pacing lateness for TRANSPORT over the whole run so far (see lateness_between).
engine_lateness() {
    lateness_snapshot "$1" "$work/lateness.end"
    lateness_between /dev/null "$work/lateness.end"
}

# Starts one more director on the same config and STORE as director N (N >= 1) and appends its
# URL to the array `urls` (not in a subshell: the EXIT trap must see it as a job to kill it).
add_director() {
    taskset -c "${DIRECTOR_CPU:-1}" "$bin" director --config "$work/sluice.yaml" --store "$STORE" --id "d$1" \
        --listen 127.0.0.1:0 --rtsp-listen 127.0.0.1:0 --log-level warning >"$work/director$1.out" 2>"$work/director$1.err" &
    wait_for "$work/director$1.out" "rtsp listening on"
    urls+=("$(grep -o 'http://[0-9.:]*' "$work/director$1.out" | head -1)")
}

# Writes a synthetic MPEG-TS of SECONDS at BITRATE and uploads it as NAME.
put_sample() {
    "$bin" sample --out "$work/$1.ts" --seconds "$2" --bitrate "$3" >/dev/null
    "$bin" put "$work/$1.ts" --name "$1" --director "$http" --key bench "${sluice_tls[@]}" >/dev/null
}
