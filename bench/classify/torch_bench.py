#!/usr/bin/python3
"""PyTorch on blotter's default CNN, measured as bench_classify.c measures
blotter, so bench/run-classify.sh can print both side by side.

    torch_bench.py [--threads N] [--reps R] [--data DIR] [--train-digits N]
                   [--skip-train]
    torch_bench.py --rss [--data DIR]

The network is the one `blotter train classify --arch cnn` builds:
conv 32 5x5 ReLU, 2x2 max-pool, conv 64 5x5 ReLU, 2x2 max-pool, dense 256
ReLU, dropout 0.5, dense 10 with softmax cross-entropy (fused here as
CrossEntropyLoss on logits, as blotter fuses softmax and CCE); Adam with
lr 1e-3 and eps 1e-7 (blotter's Keras-like default).

  train  one epoch over the first N (10,000) training digits, batch 128,
         shuffled, from a float tensor prepared beforehand (blotter converts
         bytes per batch; that costs it, not PyTorch).
  infer  eval mode under torch.inference_mode(), bytes -> float / 255
         included, MNIST test digits at batch 1 (2,000) and batch 64
         (10,000). The weights are freshly initialised: speed does not
         depend on them (the printed accuracy is therefore chance).
Threads: torch.set_num_threads(N); the caller also sets OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS. Wall time is time.perf_counter, CPU time
time.process_time (the whole process, all threads).

--rss: a fresh process builds the network and classifies the 10,000 test
digits in batches of 64 read 64 at a time, then prints the peak RSS.

Needs Debian's python3-torch (scripts/bench-setup.sh). One `key=value`
line per measurement on stdout.
"""
import argparse
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn


def load_idx(path, header):
    with open(path, "rb") as f:
        data = bytearray(f.read())  # writable, as torch.from_numpy wants
    return np.frombuffer(data, dtype=np.uint8, offset=header)


def network():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10))


def emit(**kw):
    print(" ".join(f"{k}={v}" for k, v in kw.items()), flush=True)


def bench_train(args, images, labels):
    n = min(args.train_digits, len(labels))
    x_all = torch.from_numpy(images[:n].astype(np.float32) / 255.0).view(n, 1, 28, 28)
    y_all = torch.from_numpy(labels[:n].astype(np.int64))
    batch = 128
    for rep in range(1, args.reps + 1):
        torch.manual_seed(1)
        net = network()
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        lossf = nn.CrossEntropyLoss()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        loss_sum = 0.0
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            xb, yb = x_all[idx], y_all[idx]
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        emit(impl="torch", what="train", threads=args.threads, batch=batch, digits=n, rep=rep,
             wall_s=f"{wall:.3f}", cpu_s=f"{cpu:.3f}", loss=f"{loss_sum / n:.4f}")


def bench_infer(args, net, images, labels, batch, digits):
    net.eval()
    with torch.inference_mode():
        for _ in range(5):  # warm up
            net(torch.from_numpy(images[:batch]).float().div_(255.0).view(batch, 1, 28, 28))
        for rep in range(1, args.reps + 1):
            correct = 0
            done = digits // batch * batch
            t0, c0 = time.perf_counter(), time.process_time()
            for start in range(0, done, batch):
                xb = torch.from_numpy(images[start:start + batch]).float().div_(255.0)
                out = net(xb.view(batch, 1, 28, 28))
                correct += int((out.argmax(1).numpy() == labels[start:start + batch]).sum())
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            emit(impl="torch", what="infer", threads=args.threads, batch=batch, digits=done,
                 rep=rep, wall_s=f"{wall:.3f}", cpu_s=f"{cpu:.3f}",
                 digits_per_s=f"{done / wall:.0f}", digits_per_cpu_s=f"{done / cpu:.0f}",
                 accuracy=f"{correct / done:.4f}")


def bench_rss(args):
    torch.set_num_threads(1)
    net = network().eval()
    digits = 0
    with open(os.path.join(args.data, "t10k-images-idx3-ubyte"), "rb") as f, \
            torch.inference_mode():
        f.seek(16)
        while True:
            buf = f.read(64 * 784)
            if not buf:
                break
            b = len(buf) // 784
            x = torch.frombuffer(bytearray(buf), dtype=torch.uint8).float().div_(255.0)
            net(x.view(b, 1, 28, 28))
            digits += b
    emit(impl="torch", what="rss", threads=1, batch=64, digits=digits,
         max_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "data", "mnist"))
    p.add_argument("--train-digits", type=int, default=10000)
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--rss", action="store_true")
    args = p.parse_args()
    if args.rss:
        bench_rss(args)
        return
    torch.set_num_threads(args.threads)
    test_x = load_idx(os.path.join(args.data, "t10k-images-idx3-ubyte"), 16).reshape(-1, 784)
    test_y = load_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte"), 8)
    if not args.skip_train:
        train_x = load_idx(os.path.join(args.data, "train-images-idx3-ubyte"), 16).reshape(-1, 784)
        train_y = load_idx(os.path.join(args.data, "train-labels-idx1-ubyte"), 8)
        bench_train(args, train_x, train_y)
    torch.manual_seed(1)
    net = network()
    bench_infer(args, net, test_x, test_y, 1, 2000)
    bench_infer(args, net, test_x, test_y, 64, 10000)


if __name__ == "__main__":
    main()
