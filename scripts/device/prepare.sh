#!/usr/bin/env bash
# Prepares a GPU run on the `device` machine (see scripts/device/run.sh): builds the bench bundles
# and packs what the bare machine lacks into two ignored folders the run carries:
#   .devkit/  this machine's Node binary, the webgpu package's Dawn addon (both xz), the bundles,
#             and node_modules for the WebGPU test suites (xz; without TensorFlow.js, TypeScript
#             and the Dawn builds: about 16 MB)
#   .gl/      the Vulkan/GL loader packages (the device machine has the NVIDIA driver, no loader)
# Then call the device tool with  command: bash scripts/device/run.sh  and  carry: [".gl", ".devkit"].
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.devkit/' .git/info/exclude || echo /.devkit/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude || echo /.gl/ >>.git/info/exclude
mkdir -p .devkit/node_modules/webgpu
for bench in jit batched sac webgpu matmul profile ab host accuracy train-batch; do
  npx esbuild "bench/$bench.ts" --bundle --platform=node --format=esm --external:webgpu \
    --outfile=".devkit/bench-$bench.mjs" --log-level=warning
done
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .devkit/node_modules/webgpu/
[ -f .devkit/node.xz ] || xz -9 -T2 -c "$(command -v node)" >.devkit/node.xz
[ -f .devkit/dawn.node.xz ] || xz -9 -T2 -c node_modules/webgpu/dist/linux-x64/dawn.node >.devkit/dawn.node.xz
if [ ! -f .devkit/modules.tar.xz ] || [ package-lock.json -nt .devkit/modules.tar.xz ]; then
  tar --exclude=node_modules/@tensorflow --exclude=node_modules/core-js --exclude=node_modules/typescript \
    --exclude=node_modules/webgpu/dist -cf - node_modules | xz -6 -T2 >.devkit/modules.tar.xz
fi
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .devkit .gl
