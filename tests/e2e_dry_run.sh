#!/usr/bin/env bash
# The dealer's dry run (issue 16) of every transformer shape at 128 tokens: it succeeds,
# writes nothing, and gives one JSON object with the key bytes, rounds, bytes exchanged and
# peak memory, the key bytes by kind adding up to the keys less the files' framing
# (e2e_transformer holds its figures against real runs of the small shapes).
# Each takes a walk over the model's wires: llama2-13b about 90 s on the 2-core machine in
# a Release build, five times that under the sanitizers; there (DEPTH "blocks2") each
# shape walks its first two blocks, the head and the final norm: the same code, and the
# full depths' figures are bench/results' (bench/tf-bench.sh).
#   e2e_dry_run.sh BUILD_DIR SOURCE_DIR [all|blocks2]
set -u
build=$1
src=$2
depth=${3:-all}
source "$src/tests/e2e_common.sh"
dealer=$(realpath "$dealer")
mkdir "$work/here" && cd "$work/here" || exit 1 # where a stray file would land

for m in bert-tiny bert-base bert-large gpt2 gpt-neo-1.3b gpt-neo-2.7b llama2-7b llama2-13b; do
    layers=(); [ "$depth" = blocks2 ] && layers=(--layers 2)
    "$dealer" --model $m --seq 128 "${layers[@]}" --dry-run --json >"$work/dry.json" 2>"$work/log" &&
        python3 -c "import json, sys; d = json.load(open(sys.argv[1])); assert d['model'] == sys.argv[2] and d['seq'] == 128 and min(d['key_bytes']) > 0 and d['rounds'] > 0 and d['peak_bytes'] > 0, d; k = [sum(v[b] for v in d['key_bytes_by_kind'].values()) for b in (0, 1)]; assert all(0.99 * d['key_bytes'][b] <= k[b] <= d['key_bytes'][b] for b in (0, 1)), ('the kinds do not add up to the keys (less the framing)', k, d); print(sys.argv[2], 'dry run:', d['key_bytes'][0] // 10**6, 'MB of keys (party 0),', d['rounds'], 'rounds,', d['bytes_exchanged'] // 10**6, 'MB exchanged, peak', d['peak_bytes'] // 10**6, 'MB')" "$work/dry.json" $m &&
        ok || { bad "$m: the dry run at 128 tokens"; cat "$work/log"; }
done
[ -z "$(ls -A "$work/here")" ] && ok || bad "a dry run wrote files: $(ls -A "$work/here")"

finish
