#!/usr/bin/env bash
# RTP fan-out of one engine pinned to one core, against the machine's own UDP send limit.
#
#   Benchmarks/rtp-fanout.sh STREAMS [SECONDS]
#   BITRATE=256000 Benchmarks/rtp-fanout.sh 1000 10    (other media rates; default 4000000)
#
# Builds sluice (release) and the C reference sender, starts a director and one engine
# (engine on core 0, everything else on core 1), uploads a 4 Mbit/s MPEG-TS, plays STREAMS
# concurrent RTSP streams with `sluice bench rtp` (its own RTP receivers, on core 1), and
# prints one JSON line: loss, lateness against the PCR schedule (at the receiver, and at the
# engine from its own /metrics histogram: `engineLateness` for the whole run,
# `engineLatenessSecondHalf` once every stream has started), engine CPU, and the
# reference sender's packets/s for the same 1328-byte datagrams. The engine's resident memory
# is taken before the streams start and half way through them.
streams=${1:?usage: rtp-fanout.sh STREAMS [SECONDS]}
seconds=${2:-15}
source "$(dirname "$0")/cluster.sh"
cc -O2 -o "$work/udp_reference" "$root/Benchmarks/reference/udp_reference.c"
start_cluster
put_sample bench4m $((seconds + 10)) "${BITRATE:-4000000}"

idle=$(rss_kib "$engine")
rss_later "$engine" $((seconds / 2)) "$work/rss.mid"
# The second half of the run alone, once every stream has started: the steady state.
(sleep $((seconds / 2)); lateness_snapshot rtp "$work/lateness.mid") &
before=$(ticks "$engine")
result=$(/usr/bin/time -f "%U %S" -o "$work/bench.time" taskset -c 1 "$bin" bench rtp "$rtsp/bench4m" --streams "$streams" --seconds "$seconds" --key bench --json)
cpu=$(cpu_percent "$before" "$(ticks "$engine")" "$seconds")
lateness=$(engine_lateness rtp)
steady=$(lateness_between "$work/lateness.mid" "$work/lateness.end")
rss=$(cat "$work/rss.mid")
reference=$(taskset -c 0 "$work/udp_reference" send 1328 3)
gso=$(taskset -c 0 "$work/udp_reference" gso 1328 3)
receiver=$(awk -v s="$seconds" '{ printf "%.1f", ($1 + $2) / s * 100 }' "$work/bench.time")
echo "{\"streams\":$streams,\"seconds\":$seconds,\"engineCPUPercent\":$cpu,\"receiverCPUPercent\":$receiver,\"bitrate\":${BITRATE:-4000000},\"engineRSSKiBIdle\":$idle,\"engineRSSKiB\":$rss,\"bytesPerStream\":$(( (rss - idle) * 1024 / streams )),\"bench\":$result,\"referenceSend\":$reference,\"referenceGSO\":$gso,\"engineLateness\":$lateness,\"engineLatenessSecondHalf\":$steady}"
