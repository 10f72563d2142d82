#!/usr/bin/env bash
# The GPU pass, in one call: run on a machine with an NVIDIA GPU, from the repository root.
#   bench/gpu-check.sh            (results into ${OUT:-bench/results}/<stamp>-<gpu>-*)
# Builds Release for sm_90 into build-gpu, runs every test (the CUDA ones must run, not
# skip), test_cuda again under compute-sanitizer where it works, then the GPU rows of
# fss-bench. A failing step does not stop the later ones: the pass is rare and each log
# is worth having; the exit status is nonzero if any step failed. At most 8 files are
# written (the device tool brings back 8). GPU_CHECK_STEPS picks the optional steps.
#
# OpenSSL headers: a machine without libssl-dev gets them from .gpudeps/include (copy
# /usr/include/openssl and /usr/include/x86_64-linux-gnu/openssl there, carry .gpudeps)
# and links the system's libcrypto.so.3.
set -uo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/cuda/bin:${PATH}"
budget=${GPU_CHECK_BUDGET:-540} # seconds; optional steps are skipped past it
# Steps after the build and ctest (which always run), in this order: memcheck (test_cuda
# and test_gates, whose cuda-backend parties use the step slots), bench (fss-bench GPU
# rows), cnn (secure CNN inference, cpu against cuda backend), prev (the CNN rows again
# with a baseline's binaries, on the backends GPU_CHECK_PREV_BACKENDS names (default
# cuda): GPU_CHECK_PREV names its source tree, copied into an ignored folder of the
# repository and carried), ab (the AES layout A/B, recorded
# 2026-11-26: run it again only after changing the AES).
steps=" ${GPU_CHECK_STEPS:-memcheck bench cnn} "
want() { [[ "${steps}" == *" $1 "* ]]; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
    echo "gpu-check: nvidia-smi does not see a GPU; this script needs one" >&2
    exit 1
fi
out_dir="${OUT:-bench/results}"
mkdir -p "${out_dir}"
gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr -c 'A-Za-z0-9._-' '_' | sed 's/_*$//')"
stamp="$(date -u +%Y%m%dT%H%M%SZ)-${gpu}"
prefix="${out_dir}/${stamp}"
summary="${prefix}-summary.txt"
failed=0
note() { echo "gpu-check: $*" | tee -a "${summary}"; }
step() { # step NAME LOG TIMEOUT CMD...: runs CMD, logs it, records pass/fail and seconds
    local name=$1 log=$2 limit=$3 t0=${SECONDS} rc
    shift 3
    timeout "${limit}" "$@" >>"${log}" 2>&1
    rc=$?
    if [[ ${rc} -eq 0 ]]; then
        note "${name}: ok ($((SECONDS - t0)) s)"
    else
        note "${name}: FAILED, exit ${rc} ($((SECONDS - t0)) s); see $(basename "${log}")"
        failed=1
    fi
    return ${rc}
}
note "results go to ${prefix}-*"

{
    date -u
    nvidia-smi
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
    nvcc --version
    gcc --version | head -n 1
    cmake --version | head -n 1
    lscpu | grep -E 'Model name|^CPU\(s\)'
    grep -q -w vaes /proc/cpuinfo && echo "cpu: vaes" || echo "cpu: no vaes"
    git rev-parse HEAD 2>/dev/null || true
    git status --short 2>/dev/null || true
} >"${prefix}-env.txt" 2>&1

ssl_args=()
if [[ ! -f /usr/include/openssl/evp.h && -f .gpudeps/include/openssl/evp.h ]]; then
    crypto=$(ldconfig -p | awk '/libcrypto\.so\.3 .*x86-64/ {print $NF; exit}')
    if [[ -n "${crypto}" ]]; then
        ssl_args=(-DOPENSSL_INCLUDE_DIR="${PWD}/.gpudeps/include" -DOPENSSL_CRYPTO_LIBRARY="${crypto}")
        note "OpenSSL: carried headers with ${crypto}"
    fi
fi

build_log="${prefix}-build.log"
step configure "${build_log}" 120 cmake -B build-gpu -S . -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DFSS_CUDA=ON -DFSS_WERROR=OFF "${ssl_args[@]}" &&
    step build "${build_log}" 300 cmake --build build-gpu -j "$(nproc)"
grep -c -i 'warning' "${build_log}" | xargs -I{} echo "gpu-check: build: {} warning lines" | tee -a "${summary}"
if [[ ! -x build-gpu/tests/test_cuda ]]; then
    tail -n 40 "${build_log}"
    note "no test_cuda built; stopping"
    exit 1
fi

# Every test; a skip on a GPU machine means the backend did not see the device.
ctest_log="${prefix}-ctest.log"
step ctest "${ctest_log}" 300 ctest --test-dir build-gpu --output-on-failure -j 8
if grep -qE 'Skipped|Not Run' "${ctest_log}"; then
    note "ctest: tests skipped on a GPU machine; the CUDA backend did not see the device"
    failed=1
fi

# test_cuda alone, with its seed and every case printed, then under compute-sanitizer.
cuda_log="${prefix}-test_cuda.log"
step test_cuda "${cuda_log}" 120 build-gpu/tests/test_cuda
if ! want memcheck; then
    :
elif command -v compute-sanitizer >/dev/null 2>&1 && ((SECONDS < budget - 150)); then
    echo "=== compute-sanitizer memcheck ===" >>"${cuda_log}"
    step memcheck "${cuda_log}" 150 compute-sanitizer --tool memcheck --error-exitcode 9 \
        build-gpu/tests/test_cuda
    echo "=== compute-sanitizer memcheck: test_gates ===" >>"${cuda_log}"
    step memcheck-gates "${cuda_log}" 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
        build-gpu/tests/test_gates
else
    note "memcheck: skipped (no compute-sanitizer or out of time)"
fi

# GPU rows of the benchmark (the CPU's AES rate is measured for the ratios); the JSON
# lines are in the same log, among the table's.
if ! want bench; then
    :
elif ((SECONDS < budget - 60)); then
    step fss-bench "${prefix}-bench.md" $((budget - SECONDS > 240 ? 240 : budget - SECONDS)) \
        build-gpu/bench/fss-bench --no-cpu --json --min-time 0.2 || true
else
    note "fss-bench: skipped (out of time)"
fi

# Secure CNN inference over loopback, both parties on the CPU, then both on the GPU
# backend, 4 threads a party; cnn-bench checks each run's output against the clear run
# bit for bit. ResNet-50 at 224 is Orca's GPU comparison (about 75 s a backend here).
if ! want cnn; then
    :
elif ((SECONDS < budget - 60)); then
    # GPU_CHECK_CNN_BACKENDS: cpu, cuda, and cuda:host (keys parsed on the CPU, as before
    # the device parse)
    for backend in ${GPU_CHECK_CNN_BACKENDS:-cpu cuda}; do
        parse=device
        [[ "${backend}" == cuda:host ]] && parse=host
        echo "=== backend ${backend%%:*}, FSS_CUDA_PARSE=${parse} ===" >>"${prefix}-cnn.md"
        step "cnn-${backend/:/-}" "${prefix}-cnn.md" $((budget - SECONDS > 240 ? 240 : budget - SECONDS)) \
            env BACKEND=${backend%%:*} FSS_CUDA_PARSE=${parse} THREADS=4 bash bench/cnn-bench.sh build-gpu lenet:1 \
            resnet18-cifar:1 resnet50:1 || true
        ((SECONDS < budget - 60)) || break
    done
else
    note "cnn: skipped (out of time)"
fi

# Secure transformers over loopback on the CPU and the GPU backend (the table lookups and
# the batched products fall back to the CPU there for now), each output against the clear
# run. Opt in: GPU_CHECK_STEPS="... tf".
if ! want tf; then
    :
elif ((SECONDS < budget - 60)); then
    for backend in cpu cuda; do
        echo "=== backend ${backend} ===" >>"${prefix}-tf.md"
        step "tf-${backend}" "${prefix}-tf.md" $((budget - SECONDS > 180 ? 180 : budget - SECONDS)) \
            env BACKEND=${backend} THREADS=4 bash bench/tf-bench.sh build-gpu bert-tiny:128 gpt2:32 || true
        ((SECONDS < budget - 60)) || break
    done
else
    note "tf: skipped (out of time)"
fi

# The baseline's cuda CNN rows in the same run, for the A/B of a runtime change.
if ! want prev; then
    :
elif [[ -z "${GPU_CHECK_PREV:-}" || ! -f "${GPU_CHECK_PREV}/CMakeLists.txt" ]]; then
    note "prev: skipped (GPU_CHECK_PREV names no source tree)"
elif ((SECONDS < budget - 60)); then
    prev_log="${prefix}-prev.md"
    step configure-prev "${prev_log}" 60 cmake -B build-gpu-prev -S "${GPU_CHECK_PREV}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DFSS_CUDA=ON -DFSS_WERROR=OFF "${ssl_args[@]}" &&
        step build-prev "${prev_log}" 200 cmake --build build-gpu-prev -j "$(nproc)" --target dealer online &&
        for backend in ${GPU_CHECK_PREV_BACKENDS:-cuda}; do
            step "cnn-prev-${backend}" "${prev_log}" $((budget - SECONDS > 240 ? 240 : budget - SECONDS)) \
                env BACKEND=${backend} THREADS=4 bash bench/cnn-bench.sh build-gpu-prev lenet:1 resnet18-cifar:1 \
                resnet50:1 || true
        done
else
    note "prev: skipped (out of time)"
fi

# The shared-memory AES layout, A/B in this run: 32 copies of the table (the default)
# against one, on the primitives' n = 50 rows.
if ! want ab; then
    :
elif ((SECONDS < budget - 60)); then
    ab_log="${prefix}-aes-copies.md"
    step configure-1copy "${ab_log}" 60 cmake -B build-gpu-1copy -S . -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DFSS_CUDA=ON -DFSS_WERROR=OFF -DCMAKE_CUDA_FLAGS=-DFSS_CUDA_AES_COPIES=1 \
        "${ssl_args[@]}" &&
        step build-1copy "${ab_log}" 120 cmake --build build-gpu-1copy -j "$(nproc)" --target fss-bench &&
        for copies in 1 32; do
            dir=build-gpu-1copy
            [[ ${copies} -eq 32 ]] && dir=build-gpu
            echo "=== FSS_CUDA_AES_COPIES=${copies} ===" >>"${ab_log}"
            step "bench-copies-${copies}" "${ab_log}" 90 "${dir}/bench/fss-bench" --no-cpu --prim aes,dcf,dpfcmp \
                --n 50 --min-time 0.2 || true
        done
else
    note "aes-copies A/B: skipped (out of time)"
fi

note "done in ${SECONDS} s; $([[ ${failed} -eq 0 ]] && echo 'all passed' || echo 'SOME STEPS FAILED')"
cat "${summary}"
exit ${failed}
