#!/usr/bin/env bash
# RTP fan-out of one engine pinned to one core, against the machine's own UDP send limit.
#
#   Benchmarks/rtp-fanout.sh STREAMS [SECONDS]
#
# Builds sluice (release) and the C reference sender, starts a director and one engine
# (engine on core 0, everything else on core 1), uploads a 4 Mbit/s MPEG-TS, plays STREAMS
# concurrent RTSP streams with `sluice bench rtp` (its own RTP receivers, on core 1), and
# prints one JSON line: loss, lateness against the PCR schedule, engine CPU, and the
# reference sender's packets/s for the same 1328-byte datagrams.
set -euo pipefail
streams=${1:?usage: rtp-fanout.sh STREAMS [SECONDS]}
seconds=${2:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sluice-fanout.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$root" && swift build -c release --product sluice >/dev/null)
bin="$root/.build/release/sluice"
cc -O2 -o "$work/udp_reference" "$root/Benchmarks/reference/udp_reference.c"

cat > "$work/sluice.yaml" <<YAML
director: { listen: "127.0.0.1:0", rtspListen: "127.0.0.1:0", dataDirectory: director, apiKeys: [bench], maxQueueLength: 0 }
grantSecret: benchmark-secret-0123456789
topology:
  nodes: [{ name: e1, kind: engine }, { name: edge, kind: edge }]
  links: [{ name: e1-edge, from: e1, to: edge, capacity: 100Gbit }]
clientNetworks: [{ cidr: 127.0.0.0/8, edge: edge }]
engines: [{ name: e1, listen: "127.0.0.1:0", dataDirectory: e1, maxStreams: 100000, bufferMemory: 64GiB }]
YAML

wait_for() { for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1; }
taskset -c 1 "$bin" director --config "$work/sluice.yaml" --log-level warning >"$work/director.out" 2>"$work/director.err" &
wait_for "$work/director.out" "rtsp listening on"
http=$(grep -o 'http://[0-9.:]*' "$work/director.out" | head -1)
rtsp=$(grep -o 'rtsp://[0-9.:]*' "$work/director.out" | head -1)
taskset -c 0 "$bin" engine --config "$work/sluice.yaml" --name e1 --director "$http" --log-level warning >"$work/engine.out" 2>"$work/engine.err" &
engine=$!
wait_for "$work/engine.out" "listening on"
sleep 1
"$bin" sample --out "$work/bench.ts" --seconds $((seconds + 10)) --bitrate 4000000 >/dev/null
"$bin" put "$work/bench.ts" --name bench4m --director "$http" --key bench >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$engine/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
result=$(taskset -c 1 "$bin" bench rtp "$rtsp/bench4m" --streams "$streams" --seconds "$seconds" --key bench --json)
after=$(ticks)
cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v s="$seconds" 'BEGIN { printf "%.1f", (a - b) / hz / s * 100 }')
rss=$(awk '/VmRSS/ {print $2}' "/proc/$engine/status")
reference=$(taskset -c 0 "$work/udp_reference" send 1328 3)
gso=$(taskset -c 0 "$work/udp_reference" gso 1328 3)
echo "{\"streams\":$streams,\"seconds\":$seconds,\"engineCPUPercent\":$cpu,\"engineRSSKiB\":$rss,\"bench\":$result,\"referenceSend\":$reference,\"referenceGSO\":$gso}"
