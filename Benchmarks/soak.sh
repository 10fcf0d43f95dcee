#!/usr/bin/env bash
# Memory soak: streams start and end continuously for SECONDS (default 600) against one
# director and one engine. Each round plays STREAMS RTSP and STREAMS HTTP streams of a
# 2 Mbit/s object for 10 s, then tears them down; rounds follow each other without a pause.
# Prints the resident memory of the engine and the director after the first round and at
# the end, and how many rounds ran. Growth between the two is what leaks.
#
#   Benchmarks/soak.sh [SECONDS] [STREAMS]
seconds=${1:-600}
streams=${2:-50}
source "$(dirname "$0")/cluster.sh"
start_cluster
put_sample soak 30 2000000

round() {
    "$bin" bench rtp "$rtsp/soak" --streams "$streams" --seconds 10 --key bench --json > "$work/rtp.json" &
    "$bin" bench http "$http/play/soak" --streams "$streams" --seconds 10 --key bench --json > "$work/http.json"
    wait %%
    # Let the engine's reconnect grace and the BYE pass before the next round.
    sleep 3
}
round
first_engine=$(rss_kib "$engine"); first_director=$(rss_kib "$director")
start=$(date +%s); rounds=1; failed=0
while [ $(( $(date +%s) - start )) -lt "$seconds" ]; do
    round
    rounds=$((rounds + 1))
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); h=json.load(open(sys.argv[2])); sys.exit(0 if r["played"] == r["streams"] and h["played"] == h["streams"] else 1)' "$work/rtp.json" "$work/http.json" || failed=$((failed + 1))
    echo "round $rounds: engine $(rss_kib "$engine") KiB, director $(rss_kib "$director") KiB" >&2
done
live=$(curl -sf -H "Authorization: Bearer bench" "$http/v1/streams" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "{\"seconds\":$seconds,\"streamsPerRound\":$((2 * streams)),\"rounds\":$rounds,\"roundsWithFailures\":$failed,\"liveStreamsAtEnd\":$live,\"engineRSSKiBAfterFirstRound\":$first_engine,\"engineRSSKiBAtEnd\":$(rss_kib "$engine"),\"directorRSSKiBAfterFirstRound\":$first_director,\"directorRSSKiBAtEnd\":$(rss_kib "$director")}"
