#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz/) for SECONDS, from a copy of its seed corpus,
# with ASan and UBSan: the .npy, safetensors, key-file and masked-weights readers, the
# key-body parsers, the tokenizers, the GGUF reader, the CSV reader, the statistics spec and
# the ONNX reader and its plans.
# Builds build-fuzz with clang first (FSS_FUZZ=ON). Prints one JSON line a target (runs,
# seconds, coverage, corpus size) and fails with the crashing input's path on a finding.
#   bench/fuzz.sh [SECONDS] [TARGET ...]     (default 30 s; npy safetensors keyfile keys wfile wordpiece gguf bpe
#                                            csv stats onnx onnx_plan)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy safetensors keyfile keys wfile wordpiece gguf bpe csv stats onnx onnx_plan)
build=${FUZZ_BUILD:-$src/build-fuzz}
command -v clang >/dev/null || { echo "fuzz.sh: needs clang (apt-get install clang)" >&2; exit 2; }
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DFSS_FUZZ=ON -DFSS_CUDA=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$work/$t-crash"
    cp "$src/tests/fuzz/corpus/$t/"* "$work/$t/"
    log=$work/$t.log
    ok=true
    # one process, no forks; a finding stops the run and leaves crash-*/leak-* files
    if ! "$build/tests/fuzz_$t" "$work/$t" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$t-crash/" -print_final_stats=1 >"$log" 2>&1; then
        status=1
        ok=false
        echo "fuzz.sh: fuzz_$t found a failure:" >&2
        grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
        # where it stopped in our code, and the input itself: enough to act on from CI's log alone
        grep -E "^ +#[0-9]+ .* in [^ ]+ $src/[^ ]+:[0-9]+" "$log" | head -6 >&2 || true
        for f in "$work/$t-crash/"*; do
            [ -f "$f" ] && { echo "fuzz.sh: $(basename "$f"), first 256 bytes:" >&2; od -An -tx1 -N256 "$f" >&2; }
        done
        mkdir -p "$src/build-fuzz/findings" && cp "$work/$t-crash/"* "$src/build-fuzz/findings/" 2>/dev/null &&
            echo "fuzz.sh: inputs kept in build-fuzz/findings/" >&2
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | tr -dc 0-9 || true) # none where the seeds crash
    echo "{\"target\": \"$t\", \"seconds\": $secs, \"runs\": ${runs:-0}, \"coverage\": ${cov:-0}," \
        "\"corpus\": $(ls "$work/$t" | wc -l), \"ok\": $ok}"
done
exit $status
