#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for SECONDS (default 30) from the seed corpus.
# A crash stops the run with a non-zero exit; the input that crashed is left in
# Fuzz/artifacts/ (add it to Fuzz/Regressions/TARGET/ and fix the parser).
#   Fuzz/run.sh 30            # what CI runs
#   Fuzz/run.sh 3600 rtsp     # a longer run of one target
#   Fuzz/run.sh build         # only build them (CI builds them with everything else)
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
only="${2:-}"
swift build --sanitize=fuzzer --scratch-path ../.build-fuzz 2>&1 | tail -n 3
[ "$seconds" = build ] && exit 0
bin="$(swift build --sanitize=fuzzer --scratch-path ../.build-fuzz --show-bin-path)"
mkdir -p artifacts
for target in rtsp range ts rtcp config auth; do
    [ -n "$only" ] && [ "$only" != "$target" ] && continue
    work="$(mktemp -d)"   # new inputs found go here, not into the repository's corpus
    echo "fuzz: $target for ${seconds}s"
    status=0
    # Swift's own crash handler would take the signal first: libFuzzer must, to save the input.
    SWIFT_BACKTRACE=enable=no "$bin/fuzz-$target" "$work" "Corpus/$target" "Regressions/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="artifacts/$target-" -print_final_stats=1 >"$work.log" 2>&1 || status=$?
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|ERROR|Fatal error|panic" "$work.log" || true
    if [ "$status" -ne 0 ]; then tail -n 40 "$work.log" >&2; fi
    rm -rf "$work" "$work.log"
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $status); see Fuzz/artifacts/" >&2
        exit "$status"
    fi
done
echo "fuzz: every target ran ${seconds}s without a crash"
