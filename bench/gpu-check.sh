#!/usr/bin/env bash
# The GPU pass: run on a machine with an NVIDIA GPU, from the repository root.
# Builds Release for sm_90 into build-gpu, runs every test (the CUDA ones must run,
# not skip), then the benchmark, and saves the logs and the JSON into
# ${OUT:-bench/results} as <date>-<gpu>-*.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:${PATH}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
    echo "gpu-check: nvidia-smi does not see a GPU; this script needs one" >&2
    exit 1
fi
nvidia-smi
nvcc --version

out_dir="${OUT:-bench/results}"
mkdir -p "${out_dir}"
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr -c 'A-Za-z0-9._-' '_' | sed 's/_*$//')"
stamp="$(date -u +%Y%m%dT%H%M%SZ)-${gpu}"
prefix="${out_dir}/${stamp}"
echo "gpu-check: results go to ${prefix}-*"

{
    nvidia-smi
    nvcc --version
    git rev-parse HEAD 2>/dev/null || true
    git status --short 2>/dev/null || true
} >"${prefix}-env.txt"

cmake -B build-gpu -S . -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DFSS_CUDA=ON
cmake --build build-gpu -j "$(nproc)" 2>&1 | tee "${prefix}-build.log"

# ctest's exit status covers failures; skips need the log: a skipped CUDA test on a
# GPU machine means the backend did not see the device.
set +e
ctest --test-dir build-gpu --output-on-failure 2>&1 | tee "${prefix}-ctest.log"
ctest_rc=${PIPESTATUS[0]}
set -e
if [[ ${ctest_rc} -ne 0 ]]; then
    echo "gpu-check: ctest failed (exit ${ctest_rc}); see ${prefix}-ctest.log" >&2
    exit 1
fi
if grep -E 'Skipped|Not Run' "${prefix}-ctest.log"; then
    echo "gpu-check: tests were skipped on a GPU machine (above); the CUDA backend did not see the device" >&2
    exit 1
fi
if ! grep -qE 'test_cuda \.+ +Passed' "${prefix}-ctest.log"; then
    echo "gpu-check: test_cuda did not report Passed" >&2
    exit 1
fi

bench=build-gpu/bench/fss-bench
if [[ -x "${bench}" ]]; then
    "${bench}" --json | tee "${prefix}-bench.json"
else
    echo "gpu-check: ${bench} not built; no benchmark run" | tee "${prefix}-bench.json.missing"
fi
echo "gpu-check: all passed; results in ${prefix}-*"
