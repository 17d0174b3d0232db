#!/usr/bin/env bash
# Runs on the device machine (prepared by scripts/device/prepare.sh): WebGPU on the NVIDIA driver
# through Dawn and Vulkan, the benches side by side with PyTorch on CUDA, results into $OUT.
#   BENCH_SECONDS  time limit of each of the three SAC benches (default 140; the matmul one gets 60)
# Arguments pick sections (default all, in this order): jit batched webgpu sac profile.
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
  timeout "$limit" /tmp/node ".devkit/bench-$1.mjs" "${@:2}" 2>&1 | grep -v Warning | tee "$OUT/$name.txt"
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
sections=${*:-jit batched webgpu sac profile}
for section in $sections; do
  case $section in
    # Product tiles: by size (the default) against 64x64 for all, then each tile alone in bench/webgpu.
    jit) run jit "$T" jit --backends webgpu,webgpu-64 --sizes classic,v2 --rounds 5 --updates 20 --warmup 2 ;;
    batched) run batched "$T" batched --backends webgpu,webgpu-64 --sizes classic,v2 --agents sg-rp,sgm-mrp --rounds 3 --steps 4 ;;
    webgpu) run webgpu 60 webgpu --seconds 0.5 ;;
    sac) run sac "$T" sac --backends webgpu,cpu --torch-device cuda --updates 40 --warmup 2 ;;
    # GPU time by kernel: one SAC-v2 agent and 100 batched, then the batch with 64x64 product tiles.
    profile)
      run profile "$T" profile --sizes classic,v2 --agents sg-rp,sgm-mrp --n 1,100 --top 16
      run profile-64 60 profile --backends webgpu-64 --sizes v2 --agents sg-rp --n 100 --top 16 ;;
    *) echo "unknown section '$section' (jit batched webgpu sac profile)" >&2 ;;
  esac
done
