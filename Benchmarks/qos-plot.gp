# Per-viewer loss (RTP) and stall (HTTP) of Benchmarks/qos-proof.sh's three runs, side by side.
#   gnuplot -e "dir='WORK'; out='qos-proof.png'; viewers=30; seconds=30; lossmax=35" qos-plot.gp
set terminal pngcairo size 1500,760 font "sans,11"
set output out
set multiplot layout 2,3 title sprintf("The same shaped network (engine uplinks 40 Mbit/s, bottleneck 60 Mbit/s, room for 14 streams): %d viewers of 4 Mbit/s media ask at once, for %d s", viewers, seconds)
set style fill solid 0.85 noborder
set boxwidth 0.8
set grid ytics lc rgb "#dddddd"
set key below horizontal
set xrange [0:viewers + 1]
set xlabel "viewer"
runs = "sluice best-effort peer"
titles = "Sluice (path admission)|Best effort (capacities declared x1000)|Peer senders (ffmpeg -re RTP, nginx HTTP)"
title(i) = (i == 1 ? "Sluice (path admission)" : i == 2 ? "Best effort (no path admission)" : "Peer senders (ffmpeg -re RTP, nginx HTTP)")
# Columns of RUN.dat: viewer, RTP loss %, HTTP stall s, refused (1), RTP (1) or HTTP (0).
do for [i=1:3] {
    set title title(i) . ": RTP viewers"
    set ylabel "packets lost (%)"
    set yrange [-lossmax / 40.0 : lossmax]
    plot dir . "/" . word(runs, i) . ".dat" using 1:($5 == 1 && $4 == 0 ? $2 : NaN) with boxes lc rgb "#c0392b" title "admitted: loss", \
         "" using 1:($5 == 1 && $4 == 0 && $2 == 0 ? 0 : NaN) with points pt 7 ps 0.9 lc rgb "#1e8449" title "admitted: no loss", \
         "" using 1:($5 == 1 && $4 == 1 ? 0 : NaN) with points pt 2 ps 1.2 lc rgb "#7f8c8d" title "refused (453)"
}
do for [i=1:3] {
    set title title(i) . ": HTTP viewers"
    set ylabel "seconds stalled"
    set yrange [-seconds / 40.0 : seconds]
    plot dir . "/" . word(runs, i) . ".dat" using 1:($5 == 0 && $4 == 0 ? $3 : NaN) with boxes lc rgb "#2471a3" title "admitted: stall", \
         "" using 1:($5 == 0 && $4 == 0 && $3 == 0 ? 0 : NaN) with points pt 7 ps 0.9 lc rgb "#1e8449" title "admitted: no stall", \
         "" using 1:($5 == 0 && $4 == 1 ? 0 : NaN) with points pt 2 ps 1.2 lc rgb "#7f8c8d" title "refused (503)"
}
unset multiplot
