# Pipeline throughput with 1 or 2 instances of each middle stage, from
# bench/results/MODE/throughput-instances.tsv (bench/throughput/run.sh).
# gnuplot -e "tsv='...'; out='docs/img/bench-instances.png'; mode='quick'" bench/plots/instances.gp
set terminal pngcairo size 900,420 font "DejaVu Sans,10"
set output out
set datafile separator "\t"
set key autotitle columnhead
set title sprintf("Throughput against instances (%s run; 2 cores, shared)", mode)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "pages per second"
set yrange [0:*]
set offsets 0,0,graph 0.15,0
set grid ytics
set xtics rotate by -20 left
set key top center horizontal
set bmargin 5
plot tsv using 2:xtic(1) title "pages/s (wall)", \
     ''  using 3 title "pages per CPU-second"
