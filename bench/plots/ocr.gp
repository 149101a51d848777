# blotter against Tesseract on the same generated pages, from
# bench/results/MODE/ocr.tsv (bench/ocr/run.sh).
# gnuplot -e "tsv='...'; out='docs/img/bench-ocr.png'; mode='quick'" bench/plots/ocr.gp
set terminal pngcairo size 800,420 font "DejaVu Sans,10"
set output out
set datafile separator "\t"
set key autotitle columnhead
set title sprintf("Reading hand-written fields: blotter against Tesseract (%s run)", mode)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "share"
set yrange [0:1.15]
set grid ytics
set key top center horizontal
set bmargin 4
plot tsv using 2:xtic(1) title "field exact-match", \
     ''  using 3 title "digit accuracy", \
     ''  using 5 title "field recall"
