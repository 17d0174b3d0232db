#!/usr/bin/env bash
# Runs on the device machine (prepared by scripts/device/prepare.sh): WebGPU on the NVIDIA driver
# through Dawn and Vulkan, the benches side by side with PyTorch on CUDA, results into $OUT.
#   BENCH_SECONDS  time limit of each of the three SAC benches (default 140; the matmul one gets 60)
# `targets` alone (about 4 minutes) measures issue 8's GPU targets at HEAD: one SAC-v2 agent and
# 100 batched, both agents, wall per update in a steady loop (kernels by name too), then bench/sac
# beside PyTorch on CUDA, then the float32 ulps of every transcendental on the GPU (a few seconds).
# Arguments pick sections (default all, in this order): profile tests sac batched webgpu jit
# (and ab, host, tiles and together, only when named: backend variants side by side in one process, bench/ab.ts;
# the host's side of a call, bench/host.ts; kernels under two tile rules, bench/profile.ts; runs trained
# together against one by one, bench/train-batch.ts). All
# of them take longer than one 10-minute call; `profile tests webgpu` took 107 s in session 7, and
# `profile tests sac` should take about 4 minutes.
set -uo pipefail
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
xz -dc .devkit/node.xz >/tmp/node && chmod +x /tmp/node
mkdir -p .devkit/node_modules/webgpu/dist/linux-x64
xz -dc .devkit/dawn.node.xz >.devkit/node_modules/webgpu/dist/linux-x64/dawn.node
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
T=${BENCH_SECONDS:-140}
run() { # name, time limit, then the bench and its flags
  local name=$1 limit=$2
  shift 2
  echo "== $name"
  timeout "$limit" /tmp/node --expose-gc ".devkit/bench-$1.mjs" "${@:2}" 2>&1 | grep -v Warning | tee "$OUT/$name.txt"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
sections=${*:-profile tests sac batched webgpu jit}
for section in $sections; do
  case $section in
    # Eager SAC-v2 updates compile hundreds of pipelines: session 6's run spent its 140 s before them.
    jit) run jit "$T" jit --backends webgpu --sizes classic,v2 --rounds 3 --updates 10 --warmup 1 ;;
    batched) run batched "$T" batched --backends webgpu --sizes classic,v2 --agents sg-rp,sgm-mrp --rounds 3 --steps 4 ;;
    # Merged dispatches (the default), none, and every kernel's, rounds in turn (bench/ab.ts's --variants for others).
    ab) run ab 150 ab --n 1,100 --rounds 3 --variants merged,unmerged,merged-all ;;
    # Each product tile alone, and by size.
    webgpu) run webgpu 60 webgpu --seconds 0.5 ;;
    # The CPU backend's targets are this project's 2-core machine's, not the GPU host's: WebGPU alone.
    # The SAC-v2 size alone: after the classic sizes in one process its loop ran 10x slower (session 13).
    sac) run sac "$T" sac --backends webgpu --sizes v2 --torch-device cuda --updates 40 --warmup 2 ;;
    # Kernels of the 100-agent updates by the sized rule and in 32x32 tiles everywhere, side by side:
    # whether products 17-32 wide (the 1280 x 23 input gradients, 64x64 tiles padding 23 columns
    # to 64) should take 32x32 tiles (a candidate rule for matmulTile, not yet measured).
    tiles) run tiles 120 profile --backends webgpu-sized,webgpu-32 --sizes v2 --agents sg-rp,sgm-mrp --n 100 --top 16 --wall-seconds 0.5 ;;
    # The host's side of one call at a time: Dawn's methods' share and the bytes allocated.
    host) run host 60 host --sizes v2 --agents sg-rp,sgm-mrp --calls 200 ;;
    # GPU time by kernel, one SAC-v2 agent and 100 batched; then wall times alone, each variant in a
    # fresh process (session 6 saw a loop 7x slower after other sizes had run in the same process).
    profile)
      run profile "$T" profile --sizes v2 --agents sg-rp,sgm-mrp --n 1,100 --top 12
      # The same without merged dispatches (session 11 made them the default): kernels and walls to compare.
      run profile-unmerged 90 profile --sizes v2 --agents sg-rp,sgm-mrp --n 1,100 --merge off --top 12
      # One SAC-v2 agent with Dawn's validation (WebGPUBackendOptions.validation; off by default).
      run profile-validated 40 profile --sizes v2 --agents sg-rp,sgm-mrp --n 1 --validation on --kernels off ;;
    targets)
      run targets-profile 150 profile --sizes v2 --agents sg-rp,sgm-mrp --n 1,100 --top 8 --wall-seconds 2
      run sac "$T" sac --backends webgpu --sizes v2 --torch-device cuda --updates 40 --warmup 2
      run accuracy 30 accuracy ;;
    # Whole training loops (env, replay, actions, updates) of 1 and 100 runs at the SAC-v2 network size,
    # together (trainBatch, one batched update per step) against one by one (bench/train-batch.ts).
    together) run together "$T" train-batch --backends webgpu --agents sg-rp,sgm-mrp --n 1,100 --hidden 256,256 --batch 256 --steps 200 --rounds 1 ;;
    # The float32 ulps of the transcendentals on the GPU against the CPU's float64 (bench/accuracy.ts).
    accuracy) run accuracy 30 accuracy ;;
    # The WebGPU test suites on the GPU (CI runs them on lavapipe only).
    tests)
      echo "== tests"
      tar -xJf .devkit/modules.tar.xz
      mkdir -p node_modules/webgpu/dist/linux-x64
      cp .devkit/node_modules/webgpu/dist/linux-x64/dawn.node node_modules/webgpu/dist/linux-x64/
      suites=$(grep -rlE 'describeWebGPU|createWebGPUBackend' test --include='*.test.ts' | sort)
      NO_COLOR=1 MIXRL_REQUIRE_WEBGPU=1 timeout 300 /tmp/node node_modules/vitest/vitest.mjs run $suites 2>&1 |
        grep -v Warning | tee "$OUT/tests.txt" | grep -E 'FAIL|Test Files|Tests |✓ test|× ' ;;
    *) echo "unknown section '$section' (targets profile tests sac batched webgpu jit ab host tiles accuracy together)" >&2 ;;
  esac
done
