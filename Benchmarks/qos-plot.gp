# Per-viewer loss (RTP) and stall (HTTP) of Benchmarks/qos-proof.sh's three runs, side by side.
#   gnuplot -e "dir='WORK'; out='qos-proof.png'" qos-plot.gp
set terminal pngcairo size 1500,700 font "sans,11"
set output out
set multiplot layout 2,3 title "Same shaped network (engine uplinks 40 Mbit/s, bottleneck 60 Mbit/s), 4 Mbit/s media, storm of twice the bottleneck"
set style fill solid 0.8 noborder
set boxwidth 0.8
set grid ytics lc rgb "#dddddd"
set key top left
runs = "sluice best-effort peer"
titles = "Sluice|Best effort (capacities declared x1000)|Peer senders (ffmpeg -re RTP, nginx HTTP)"
set yrange [0:*]
do for [i=1:3] {
    set title word(runs, i) . ": RTP viewers, packet loss"
    set ylabel "loss %"
    set xlabel "viewer"
    plot dir . "/" . word(runs, i) . ".dat" using 1:($5 == 1 ? $2 : NaN) with boxes lc rgb "#c0392b" title "admitted, loss %", \
         "" using 1:($5 == 1 && $4 == 1 ? 0 : NaN) with points pt 2 ps 1.5 lc rgb "#7f8c8d" title "refused"
}
do for [i=1:3] {
    set title word(runs, i) . ": HTTP viewers, stall"
    set ylabel "stalled seconds"
    plot dir . "/" . word(runs, i) . ".dat" using 1:($5 == 0 ? $3 : NaN) with boxes lc rgb "#2471a3" title "admitted, stall s", \
         "" using 1:($5 == 0 && $4 == 1 ? 0 : NaN) with points pt 2 ps 1.5 lc rgb "#7f8c8d" title "refused"
}
unset multiplot
