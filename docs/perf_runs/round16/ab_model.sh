# Alternated old/new whole-model runs; /tmp/ds_old is build/bin/deepseek of f54d1a1, /tmp/ds_new of this round.
# Alternated old/new whole-model decode runs: deepseek bench -p 0 -n 16 -r 3 -t T --json
out=$1; shift
for t in 1 2; do for pass in 1 2 3; do for v in old new; do for m in qwen15b-q4_k_m.gguf v2lite8-q4_k_m.gguf; do
  j=$(/tmp/ds_$v bench --model /tmp/perf_models/$m -p 0 -n 16 -r 3 -t $t --json 2>/dev/null)
  echo "$j" >> $out.jsonl
  echo "$j" | python3 -c "import json,sys; d=json.load(sys.stdin); print('t=$t pass $pass $v %-22s tg %.2f ± %.2f tok/s  paired_fraction %.3f  sweep %.1f GB/s' % ('$m', d['tg_tok_s'], d['tg_tok_s_sd'], d['paired_fraction'], d['paired_sweep_gb_s']))"
done; done; done; done
