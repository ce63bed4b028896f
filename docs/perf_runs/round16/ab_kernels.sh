# usage: ab_kernels.sh FILTER PASSES: alternates /tmp/bench_old (ds_bench_kernels of f54d1a1) and /tmp/bench_new (this round), prints GB/s
for p in $(seq 1 $2); do for v in old new; do
  DS_BENCH_L2=${L2:-} OMP_NUM_THREADS=1 /tmp/bench_$v --benchmark_filter="$1" --benchmark_min_time=0.3 2>&1 | grep BM_ | awk -v v=$v '{for(i=1;i<=NF;i++) if($i ~ /bytes_per_second/) b=$i; print v, $1, b}'
done; done
