# Cost against the batch size, from bench/results/MODE/throughput-batch.tsv
# (bench/throughput/run.sh): CPU per page of the whole pipeline and of
# each stage.
# gnuplot -e "tsv='...'; out='docs/img/bench-batch.png'; mode='quick'" bench/plots/batch.gp
set terminal pngcairo size 800,420 font "DejaVu Sans,10"
set output out
set datafile separator "\t"
set key autotitle columnhead
set title sprintf("CPU per page against the batch size (%s run)", mode)
set logscale x
set xlabel "pages in the batch"
set ylabel "CPU ms per page"
set yrange [0:*]
set grid
set key outside right
plot tsv using 1:5 with linespoints lw 2 title "all processes", \
     ''  using 1:6 with linespoints title "ingest", \
     ''  using 1:8 with linespoints title "detect", \
     ''  using 1:10 with linespoints title "segment", \
     ''  using 1:12 with linespoints title "classify", \
     ''  using 1:14 with linespoints title "write"
