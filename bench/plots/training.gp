# Training and validation curves of the shipped classifier, from the
# training log models/classify-cnn.csv (blotter train classify --log).
# gnuplot -e "csv='models/classify-cnn.csv'; out='docs/img/classify-training.png'" bench/plots/training.gp
set terminal pngcairo size 1000,420 font "DejaVu Sans,10"
set output out
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2 title "classify-cnn: training (augmented) and validation (10% held out) per epoch"
set xlabel "epoch"
set grid
set ylabel "loss (categorical cross-entropy)"
set logscale y
plot csv using 1:3 with linespoints lw 2 title "training loss", \
     csv using 1:5 with linespoints lw 2 title "validation loss"
unset logscale y
set ylabel "accuracy"
set yrange [0.88:1.0]
set key bottom right
plot csv using 1:4 with linespoints lw 2 title "training accuracy", \
     csv using 1:6 with linespoints lw 2 title "validation accuracy"
unset multiplot
