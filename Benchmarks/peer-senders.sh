#!/usr/bin/env bash
# The same STREAMS concurrent 4 Mbit/s RTP/MP2T streams sent by a Sluice engine, by ffmpeg
# (`-re ... -f rtp_mpegts`, one process per stream) and by GStreamer (`tsparse ! rtpmp2tpay !
# udpsink sync=true`, one process per stream), every sender on core 0 and every receiver
# (`sluice bench rtp` / `sluice bench rtp-listen`, same measurement) on core 1. The media is a
# real H.264 stream muxed at a constant 4 Mbit/s by ffmpeg. Prints one JSON line per sender
# with the senders' CPU (percent of core 0, and per stream) over the steady part of the run:
# from 8 s after the start (fifty ffmpeg processes take seconds to load and probe on one
# core) to 1 s before the end.
#
#   Benchmarks/peer-senders.sh STREAMS [SECONDS]
streams=${1:?usage: peer-senders.sh STREAMS [SECONDS]}
[ "${2:-25}" -ge 12 ] || { echo "SECONDS must be at least 12" >&2; exit 2; }
seconds=${2:-25}
source "$(dirname "$0")/cluster.sh"
for tool in ffmpeg gst-launch-1.0; do command -v $tool >/dev/null || { echo "$tool is needed (see .ci/run for the packages)" >&2; exit 1; }; done
taskset -c 1 ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t $((seconds + 15)) \
    -c:v libx264 -preset ultrafast -b:v 3500k -maxrate 3500k -bufsize 1750k -x264-params nal-hrd=cbr -muxrate 4000000 \
    -f mpegts "$work/media.ts"

# CPU of PIDS (percent of one core) from 8 s after the start to 1 s before the end.
measure_cpu() {
    sleep 8
    local before=0 after=0 pid
    for pid in "$@"; do before=$((before + $(ticks "$pid" 2>/dev/null || echo 0))); done
    sleep $((seconds - 9))
    for pid in "$@"; do after=$((after + $(ticks "$pid" 2>/dev/null || echo 0))); done
    cpu_percent "$before" "$after" $((seconds - 9))
}

report() {  # NAME CPU RESULT
    awk -v n="$1" -v c="$2" -v s="$streams" -v r="$3" 'BEGIN { printf "{\"sender\":\"%s\",\"streams\":%d,\"cpuPercent\":%.1f,\"cpuPercentPerStream\":%.3f,\"bench\":%s}\n", n, s, c, c / s, r }'
}

# Sluice: one engine process.
start_cluster
"$bin" put "$work/media.ts" --name peer4m --director "$http" --key bench >/dev/null
taskset -c 1 "$bin" bench rtp "$rtsp/peer4m" --streams "$streams" --seconds "$seconds" --key bench --json > "$work/sluice.json" &
bench=$!
cpu=$(measure_cpu "$engine")
wait $bench
report sluice "$cpu" "$(cat "$work/sluice.json")"

# ffmpeg and GStreamer: one process per stream.
peer() {  # NAME, then the sender command with PORT where the port goes
    local name=$1; shift
    rm -f "$work/ports"
    taskset -c 1 "$bin" bench rtp-listen --streams "$streams" --seconds "$seconds" --ports-file "$work/ports" --json > "$work/$name.json" &
    local listener=$!
    while [ ! -f "$work/ports" ]; do sleep 0.05; done
    local pids=() port
    while read -r port; do
        taskset -c 0 "${@//PORT/$port}" >/dev/null 2>&1 &
        pids+=($!)
    done < "$work/ports"
    local cpu
    cpu=$(measure_cpu "${pids[@]}")
    wait $listener
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    report "$name" "$cpu" "$(cat "$work/$name.json")"
}
peer ffmpeg ffmpeg -nostdin -loglevel error -re -i "$work/media.ts" -c copy -f rtp_mpegts "rtp://127.0.0.1:PORT"
peer gstreamer gst-launch-1.0 -q filesrc location="$work/media.ts" ! tsparse set-timestamps=true ! rtpmp2tpay ! udpsink host=127.0.0.1 port=PORT sync=true
