#!/usr/bin/env bash
# What the reservation buys, on links that really have the capacities the topology declares.
#
# Builds a small network of namespaces (needs root, iproute2 and tc):
#
#   e1 --40 Mbit/s--\
#                    core --60 Mbit/s--> edge -----> viewers
#   e2 --40 Mbit/s--/  (director)
#
# Each shaped arrow is a veth pair with `tc tbf` in the direction media flows. (No `netem`
# delay: this machine's kernel has no sch_netem; the links' only delay is their queues.) The director runs in core; both engines hold the same 4 Mbit/s MPEG-TS.
# A storm of VIEWERS (default 30: half RTP, half paced HTTP, about twice what the 60 Mbit/s
# bottleneck carries) asks at once, in three runs on the same network:
#   sluice       admission as designed (the topology's capacities are the links' real ones);
#   best-effort  the same engines and director, capacities declared far above the links;
#   peer         one ffmpeg `-re` RTP sender per RTP viewer and nginx for the HTTP viewers
#                (what a user of a server without path admission sees).
# Per viewer: admitted or refused (and how long the refusal took), RTP loss and p99 lateness,
# HTTP stall seconds (a player that buffers 1 s, then plays at the media's rate), startup.
# Per run: the `tc -s` drop counters of the bottleneck and the engine uplinks.
# Prints one JSON line; writes the per-viewer plot to qos-proof.png next to BENCHMARKS.md.
#
#   Benchmarks/qos-proof.sh [VIEWERS] [SECONDS]
#   Benchmarks/qos-proof.sh --check     (short Sluice-only run: exits 1 unless every admitted
#                                        RTP viewer lost nothing, the excess was refused and the
#                                        shaped links dropped nothing; used by the test suite)
#
# Everything it creates (namespaces, veths, processes, files under /tmp) goes at the end.
# SLUICE_BIN runs another build instead of building this one (release); QUEUE=20ms gives the
# shaped links a shorter queue (default 50ms); RUNS="sluice" does only the runs named.
check=false
if [ "${1:-}" = "--check" ]; then check=true; shift; fi
viewers=${1:-30}
seconds=${2:-30}
waves=5
$check && { viewers=28; seconds=8; waves=4; }
[ "$(id -u)" = 0 ] || { echo "qos-proof.sh needs root (network namespaces and tc)" >&2; exit 2; }
for tool in ip tc python3; do command -v $tool >/dev/null || { echo "$tool is needed (iproute2, python3)" >&2; exit 2; }; done
if ! $check; then
    for tool in ffmpeg nginx gnuplot; do
        command -v $tool >/dev/null && continue
        echo "installing $tool's package (Debian)..." >&2
        case $tool in gnuplot) pkg=gnuplot-nox ;; nginx) pkg=nginx-light ;; *) pkg=$tool ;; esac
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkg >/dev/null
    done
fi
source "$(dirname "$0")/cluster.sh"

# Link capacities (Mbit/s) and the media's rate (bit/s).
uplink=40; bottleneck=60; media_rate=4000000
rtp_viewers=${RTP_VIEWERS:-$(( (viewers + 1) / 2 ))}; http_viewers=${HTTP_VIEWERS:-$(( viewers / 2 ))}
ns=qos$$
hosts=(e1 e2 core edge view)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    for host in "${hosts[@]}"; do ip netns pids "$ns-$host" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
    wait 2>/dev/null || true
    for host in "${hosts[@]}"; do ip netns del "$ns-$host" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
at() { local host=$1; shift; ip netns exec "$ns-$host" "$@"; }

# --- the network -------------------------------------------------------------------------
for host in "${hosts[@]}"; do ip netns add "$ns-$host"; at "$host" ip link set lo up; done
# veth A(host, address) <-> B(host, address) in one /24; interface named after the peer.
wire() {
    ip -n "$ns-$1" link add name "$3" type veth peer name "$1" netns "$ns-$3"
    ip -n "$ns-$1" addr add "$2/24" dev "$3"; ip -n "$ns-$1" link set "$3" up
    ip -n "$ns-$3" addr add "$4/24" dev "$1"; ip -n "$ns-$3" link set "$1" up
}
wire e1 10.9.1.2 core 10.9.1.1
wire e2 10.9.2.2 core 10.9.2.1
wire core 10.9.3.1 edge 10.9.3.2
wire edge 10.9.4.1 view 10.9.4.2
at core sysctl -qw net.ipv4.ip_forward=1
at edge sysctl -qw net.ipv4.ip_forward=1
ip -n "$ns-e1" route add default via 10.9.1.1
ip -n "$ns-e2" route add default via 10.9.2.1
ip -n "$ns-core" route add 10.9.4.0/24 via 10.9.3.2
ip -n "$ns-edge" route add default via 10.9.3.1
ip -n "$ns-view" route add default via 10.9.4.1

# (Re)shapes every link, a new qdisc each time, which zeroes the drop counters. tbf: the rate, a
# bucket of ten packets, and a queue of 50 ms at the link's rate. (With a 6 KB bucket the
# shaper passed ~1 % less than its rate, its timer being late on this VM; with a 20 ms queue
# the unpaced first ten segments of 14 TCP streams starting together overflowed it.)
shape() {
    local host dev rate
    for spec in "e1 core $uplink" "e2 core $uplink" "core edge $bottleneck"; do
        read -r host dev rate <<< "$spec"
        tc -n "$ns-$host" qdisc del dev "$dev" root 2>/dev/null || true
        tc -n "$ns-$host" qdisc add dev "$dev" root tbf rate "${rate}mbit" burst 15kb latency "${QUEUE:-50ms}"
    done
}
drops() { tc -n "$ns-$1" -s qdisc show dev "$2" | grep -o 'dropped [0-9]*' | head -1 | cut -d' ' -f2; }

# --- Sluice ------------------------------------------------------------------------------
director_url=http://10.9.3.1:8080
config() {  # CAPACITY_SCALE: 1 for the real links, 1000 for best effort
    cat > "$work/sluice.yaml" <<YAML
director: { listen: "10.9.3.1:8080", rtspListen: "10.9.3.1:8554", dataDirectory: director, apiKeys: [bench], maxWait: 3s, maxQueueLength: 1000, metricsToken: bench-metrics-token-0123 }
grantSecret: benchmark-secret-0123456789
topology:
  nodes: [{ name: e1, kind: engine }, { name: e2, kind: engine }, { name: core, kind: router }, { name: edge, kind: edge }]
  links:
    - { name: e1-core, from: e1, to: core, capacity: $((uplink * $1))Mbit }
    - { name: e2-core, from: e2, to: core, capacity: $((uplink * $1))Mbit }
    - { name: core-edge, from: core, to: edge, capacity: $((bottleneck * $1))Mbit }
clientNetworks: [{ cidr: 10.9.4.0/24, edge: edge }]
engines:
  - { name: e1, listen: "10.9.1.2:9000", dataDirectory: e1, maxStreams: 1000, bufferMemory: 1GiB }
  - { name: e2, listen: "10.9.2.2:9000", dataDirectory: e2, maxStreams: 1000, bufferMemory: 1GiB }
replication: { copyRate: 30Mbit }
# Every viewer is one address (10.9.4.2): lift the per-address connection cap.
limits: { maxConnectionsPerClient: 100000 }
YAML
}
start_sluice() {
    config "$1"
    (cd "$work" && at core "$bin" director --config "$work/sluice.yaml" --log-level ${DIRECTOR_LOG:-warning} >"$work/director.out" 2>>"$work/director.err") &
    wait_for "$work/director.out" "rtsp listening on"
    for engine in e1 e2; do
        (cd "$work" && at $engine "$bin" engine --config "$work/sluice.yaml" --name $engine --director "$director_url" --log-level warning >"$work/$engine.out" 2>>"$work/$engine.err") &
        wait_for "$work/$engine.out" "listening on"
    done
    # Both registered with the director (with what they hold) before anyone asks.
    for _ in $(seq 100); do
        at core curl -s -H "Authorization: Bearer bench" "$director_url/v1/engines" |
            python3 -c 'import json, sys; sys.exit(0 if sum(e["engine"]["isUp"] for e in json.load(sys.stdin)) == 2 else 1)' 2>/dev/null && return
        sleep 0.1
    done
    echo "the engines did not register with the director" >&2; exit 1
}
stop_sluice() {
    for host in core e1 e2; do ip netns pids "$ns-$host" | xargs -r kill -TERM 2>/dev/null || true; done
    for _ in $(seq 100); do [ -z "$(ip netns pids "$ns-core"; ip netns pids "$ns-e1"; ip netns pids "$ns-e2")" ] && break; sleep 0.1; done
    : > "$work/director.out"; : > "$work/e1.out"; : > "$work/e2.out"
}

media="$work/media.ts"
if $check; then
    "$bin" sample --out "$media" --seconds $((seconds + 20)) --bitrate $media_rate >/dev/null
else
    echo "encoding $((seconds + 30)) s of 4 Mbit/s H.264 in MPEG-TS..." >&2
    ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t $((seconds + 30)) \
        -c:v libx264 -preset ultrafast -b:v 3500k -maxrate 3500k -bufsize 1750k -x264-params nal-hrd=cbr -muxrate $media_rate \
        -f mpegts "$media"
fi
chmod 644 "$media"

shape
start_sluice 1000
echo "uploading the media and copying it to the second engine..." >&2
at view "$bin" put "$media" --name qos --director "$director_url" --key bench --insecure-http >/dev/null
# put stores it on one engine; the copy goes to the other (the wrong one answers "already holds").
at view "$bin" replicate qos --to e2 --director "$director_url" --key bench --insecure-http >&2 ||
    at view "$bin" replicate qos --to e1 --director "$director_url" --key bench --insecure-http >/dev/null
# The copy's reservation goes when its source reports the send ended; wait for that, or the
# next director would hold it (from the store) until its lease ran out.
for _ in $(seq 100); do
    [ "$(at view curl -s -H "Authorization: Bearer bench" "$director_url/v1/streams")" = "[]" ] && break
    sleep 0.2
done
stop_sluice

# --- a storm -----------------------------------------------------------------------------
# RUN: sluice | best-effort | peer. Leaves $work/RUN.rtp, RUN.http (one JSON viewer per line)
# and RUN.drops ("bottleneck uplink1 uplink2").
storm() {
    local run=$1
    shape
    echo "run $run: $rtp_viewers RTP + $http_viewers HTTP viewers for $seconds s" >&2
    local pids=()
    echo "  drops before: $(drops core edge) $(drops e1 core) $(drops e2 core)" >&2
    if [ "$run" = peer ]; then
        rm -f "$work/ports"
        at view "$bin" bench rtp-listen --host 10.9.4.2 --streams "$rtp_viewers" --seconds "$seconds" --ports-file "$work/ports" \
            --viewers-file "$work/$run.rtp.1" --json >/dev/null &
        pids+=($!)
        while [ ! -f "$work/ports" ]; do sleep 0.05; done
        local i=0 port
        while read -r port; do
            at "e$((i % 2 + 1))" ffmpeg -nostdin -loglevel error -re -i "$media" -c copy -f rtp_mpegts "rtp://10.9.4.2:$port" >/dev/null 2>&1 &
            i=$((i + 1))
        done < "$work/ports"
        for engine in e1 e2; do
            local address=10.9.${engine#e}.2
            mkdir -p "$work/nginx-$engine"
            cat > "$work/nginx-$engine/nginx.conf" <<NGINX
daemon off; worker_processes 1; pid $work/nginx-$engine/pid; error_log $work/nginx-$engine/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path $work/nginx-$engine;
    server { listen $address:8081; root $work; } }
NGINX
            at $engine nginx -c "$work/nginx-$engine/nginx.conf" -p "$work/nginx-$engine" &
        done
        sleep 0.5
        local half=$(( (http_viewers + 1) / 2 ))
        at view "$bin" bench http "http://10.9.1.2:8081/media.ts" --direct --media-bitrate $media_rate --streams $half \
            --seconds "$seconds" --viewers-file "$work/$run.http.1" --json >/dev/null &
        pids+=($!)
        [ $((http_viewers - half)) -gt 0 ] && { at view "$bin" bench http "http://10.9.2.2:8081/media.ts" --direct --media-bitrate $media_rate \
            --streams $((http_viewers - half)) --seconds "$seconds" --viewers-file "$work/$run.http.2" --json >/dev/null & pids+=($!); }
    else
        start_sluice "$([ "$run" = sluice ] && echo 1 || echo 1000)"
        # The storm comes in waves 100 ms apart, each with its share of RTP and HTTP viewers
        # (RTSP takes more round trips than HTTP: asked in one go, HTTP would win every place).
        local wave r h
        for wave in $(seq "$waves"); do
            r=$(( rtp_viewers * wave / waves - rtp_viewers * (wave - 1) / waves ))
            h=$(( http_viewers * wave / waves - http_viewers * (wave - 1) / waves ))
            [ "$r" -gt 0 ] && { at view "$bin" bench rtp "rtsp://10.9.3.1:8554/qos" --streams "$r" --seconds "$seconds" --key bench --insecure-http \
                --viewers-file "$work/$run.rtp.$wave" --json >/dev/null & pids+=($!); }
            [ "$h" -gt 0 ] && { at view "$bin" bench http "$director_url/play/qos" --streams "$h" --seconds "$seconds" --key bench \
                --media-bitrate $media_rate --viewers-file "$work/$run.http.$wave" --json >/dev/null & pids+=($!); }
            sleep 0.1
        done
    fi
    # TRACE=1: the bottleneck's drop counter and backlog every half second, on stderr.
    local tracer=
    if [ -n "${TRACE:-}" ]; then
        while sleep 0.5; do echo "  trace: $(date +%s.%N) $(tc -n "$ns-e1" -s qdisc show dev core | grep -o "Sent [0-9]*") $(tc -n "$ns-e2" -s qdisc show dev core | grep -o "Sent [0-9]*") $(tc -n "$ns-core" -s qdisc show dev edge | grep -o 'Sent [0-9]*\|dropped [0-9]*\|backlog [0-9a-zA-Z]*' | tr '\n' ' ')" >&2; done &
        tracer=$!
    fi
    wait "${pids[@]}"
    if [ -n "$tracer" ]; then
        kill $tracer
        for engine in e1 e2; do
            echo "  $engine pacing lateness (le count):" $(at core curl -s -H "Authorization: Bearer bench-metrics-token-0123" "http://10.9.${engine#e}.2:9000/metrics" |
                grep 'sluice_engine_pacing_lateness_seconds_bucket' | grep -o 'transport="[a-z]*".*le="[^"]*"} [0-9]*\|le="[^"]*",transport="[a-z]*"} [0-9]*' | tr -d '"') >&2
        done
    fi
    cat "$work/$run.rtp".* > "$work/$run.rtp" 2>/dev/null || : > "$work/$run.rtp"
    cat "$work/$run.http".* > "$work/$run.http" 2>/dev/null || : > "$work/$run.http"
    echo "$(drops core edge) $(drops e1 core) $(drops e2 core)" > "$work/$run.drops"
    if [ "$run" = peer ]; then
        for host in e1 e2; do ip netns pids "$ns-$host" | xargs -r kill -TERM 2>/dev/null || true; done
        sleep 0.5
    else
        stop_sluice
    fi
}

# RUNS="sluice peer" does only those (the plot needs all three).
read -r -a runs <<< "${RUNS:-sluice best-effort peer}"
$check && runs=(sluice)
for run in "${runs[@]}"; do storm "$run"; done

# --- the figures -------------------------------------------------------------------------
summary=$(python3 "$(dirname "$0")/qos-summary.py" "$work" "$viewers" "$bottleneck" "$uplink" "$media_rate" "$seconds" "${runs[@]}")
echo "$summary"
if $check; then
    python3 - "$summary" <<'PY'
import json, sys
run = json.loads(sys.argv[1])["runs"]["sluice"]
problems = []
if run["rtpAdmitted"] == 0: problems.append("no RTP viewer was admitted")
if run["rtpLossPercentMax"] != 0: problems.append(f"an admitted RTP viewer lost {run['rtpLossPercentMax']} % of its packets")
if run["admitted"] + run["refused"] != run["viewers"]: problems.append(f"{run['viewers'] - run['admitted'] - run['refused']} viewers neither played nor were refused")
if run["refused"] == 0: problems.append("nobody was refused although twice the bottleneck was asked for")
if run["tcDrops"] != 0 or run["uplinkDrops"] != 0: problems.append(f"the shaped links dropped packets (bottleneck {run['tcDrops']}, uplinks {run['uplinkDrops']})")
if run["stallSecondsMax"] > 0: problems.append(f"an admitted HTTP viewer stalled {run['stallSecondsMax']} s")
for p in problems: print("qos-proof:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
elif [ "${#runs[@]}" = 3 ]; then
    lossmax=$(python3 -c 'import json, sys; print(max(5, 5 * round(max(r["lossPercentMax"] for r in json.loads(sys.argv[1])["runs"].values()) / 5 + 0.5)))' "$summary")
    gnuplot -e "dir='$work'; out='$root/qos-proof.png'; viewers=$viewers; seconds=$seconds; lossmax=$lossmax" "$(dirname "$0")/qos-plot.gp"
    echo "plot: $root/qos-proof.png" >&2
fi
