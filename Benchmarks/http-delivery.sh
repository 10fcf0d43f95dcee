#!/usr/bin/env bash
# HTTP delivery of one engine pinned to core 0.
#
#   Benchmarks/http-delivery.sh unpaced [RUNS]        one connection, as fast as it goes, vs nginx
#   Benchmarks/http-delivery.sh paced STREAMS [SECS]  STREAMS concurrent 4 Mbit/s paced streams
#   TLS=1 Benchmarks/http-delivery.sh ...              the same over HTTPS (nginx with the same
#                                                      certificate, TLS 1.3, userspace encryption)
#
# unpaced: uploads a 1 GB synthetic MPEG-TS whose bitrate (100 Gbit/s) is far above what one
# connection reaches, so the grant never holds the sender back; fetches it through the
# director with curl (on core 1) RUNS times after a warm-up, then serves the same file from
# nginx (sendfile on, one worker on core 0) to the same curl. Prints one JSON line.
# paced: uploads a 4 Mbit/s object and runs `sluice bench http` (on core 1, shared with the
# director). Prints one JSON line, with the receiver's CPU (`receiverCPUPercent`: near 100 % it,
# not the engine, sets the figures) and the engine's own pacing lateness per chunk.
mode=${1:?usage: http-delivery.sh unpaced [RUNS] | paced STREAMS [SECONDS]}
source "$(dirname "$0")/cluster.sh"
start_cluster

case "$mode" in
unpaced)
    runs=${2:-3}
    command -v nginx >/dev/null || { echo "nginx is needed as the reference: apt-get install nginx-light" >&2; exit 1; }
    put_sample big 0.08 100000000000
    stored="$work/e1/objects/big"
    [ -f "$stored" ] || stored=$(find "$work/e1" -type f -size +900M | head -1)
    mkdir -p "$work/www" && cp "$stored" "$work/www/big.ts" && chmod -R a+rX "$work/www"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    server { listen 127.0.0.1:$port${TLS:+ ssl}; root $work/www; ${TLS:+ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;} }
}
NGINX
    taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" &
    sleep 1
    # With TLS both servers get the same protocol and cipher (TLS 1.3, AES-128-GCM): Debian's
    # nginx speaks up to TLS 1.2 unless told, and the servers' libraries pick differently.
    [ -n "${TLS:-}" ] && curl_tls+=(--tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256)
    fetch() { taskset -c 1 curl -sfL "${curl_tls[@]}" -o /dev/null -w '%{speed_download}\n' "$1"; }
    median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    fetch "$http/play/big?key=bench" >/dev/null   # warm the page cache and the engine
    fetch "$scheme://127.0.0.1:$port/big.ts" >/dev/null
    sluice_runs=""; nginx_runs=""
    for _ in $(seq "$runs"); do
        sluice_runs="$sluice_runs $(fetch "$http/play/big?key=bench" | tr -d '\n')"
        nginx_runs="$nginx_runs $(fetch "$scheme://127.0.0.1:$port/big.ts" | tr -d '\n')"
    done
    s=$(echo $sluice_runs | tr ' ' '\n' | median)
    n=$(echo $nginx_runs | tr ' ' '\n' | median)
    awk -v s="$s" -v n="$n" -v sr="$sluice_runs" -v nr="$nginx_runs" 'BEGIN {
        printf "{\"sluiceGbps\":%.2f,\"nginxGbps\":%.2f,\"ratio\":%.3f,\"sluiceRunsBytesPerSecond\":\"%s\",\"nginxRunsBytesPerSecond\":\"%s\"}\n", s * 8 / 1e9, n * 8 / 1e9, s / n, sr, nr }'
    ;;
paced)
    streams=${2:?usage: http-delivery.sh paced STREAMS [SECONDS]}
    seconds=${3:-15}
    put_sample bench4m $((seconds + 10)) 4000000
    idle=$(rss_kib "$engine")
    rss_later "$engine" $((seconds / 2)) "$work/rss.mid"
    before=$(ticks "$engine")
    result=$(/usr/bin/time -f "%U %S" -o "$work/bench.time" taskset -c 1 "$bin" bench http "$http/play/bench4m" --streams "$streams" --seconds "$seconds" --key bench "${sluice_tls[@]}" --json)
    cpu=$(cpu_percent "$before" "$(ticks "$engine")" "$seconds")
    rss=$(cat "$work/rss.mid")
    receiver=$(awk -v s="$seconds" '{ printf "%.1f", ($1 + $2) / s * 100 }' "$work/bench.time")
    lateness=$(engine_lateness http)
    echo "{\"streams\":$streams,\"seconds\":$seconds,\"engineCPUPercent\":$cpu,\"receiverCPUPercent\":$receiver,\"engineLateness\":$lateness,\"engineRSSKiBIdle\":$idle,\"engineRSSKiB\":$rss,\"bytesPerStream\":$(( (rss - idle) * 1024 / streams )),\"bench\":$result}"
    ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
