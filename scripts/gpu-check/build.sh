#!/usr/bin/env bash
# Build gpu-check-bundle/ at the repository root: everything the GPU check needs on a bare Linux x86-64
# machine without Node.js, npm or network (scripts/gpu-check/README.md). Never committed (.gitignore).
#
#   bash scripts/gpu-check/build.sh            # npm run build, then the bundle
#   bash scripts/gpu-check/build.sh --no-build # use dist/ as it is
#   bash scripts/gpu-check/build.sh --no-test  # skip the test run from the bundle
#
# Contents: node.xz (this machine's node binary), payload.tar.xz (package.json, dist/, a pruned
# node_modules/, scripts/bench-gpu.mjs, scripts/gpu-check/), vulkan/ (the Vulkan loader from Debian's
# libvulkan1), run.sh, MANIFEST.txt. Fails when the bundle exceeds 64 MiB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUNDLE="$ROOT/gpu-check-bundle"
LIMIT=$((64 * 1024 * 1024))
BUILD=1
TEST=1
for a in "$@"; do
  case "$a" in
    --no-build) BUILD=0 ;;
    --no-test) TEST=0 ;;
    *) echo "build.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
if [ "$BUILD" = 1 ]; then npm run build; fi
[ -f dist/engine/backend.js ] || { echo "build.sh: dist/ is missing (npm run build)" >&2; exit 1; }

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/vulkan"

# --- payload: a copy of the repository parts the check runs, as they lie at the repository root.
P="$STAGE/payload"
mkdir -p "$P/scripts/gpu-check" "$P/node_modules"
cp package.json "$P/"
(cd "$ROOT" && find dist -type f ! -name '*.map' ! -name '*.d.ts' -print0 | xargs -0 cp --parents -t "$P")
cp scripts/bench-gpu.mjs scripts/train-seeds.mjs "$P/scripts/"
(cd scripts/gpu-check && find . -type f \( -name '*.mjs' -o -name '*.sh' -o -name '*.md' \) -print0 | xargs -0 cp --parents -t "$P/scripts/gpu-check")

# node_modules: only the files a run loads (found by tracing a full run of the check; the test run
# below confirms nothing is missing). Each entry: package directory, then paths or globs inside it.
NM="$ROOT/node_modules"
keep() {
  local pkg="$1"; shift
  local src="$NM/$pkg"
  [ -d "$src" ] || { echo "build.sh: node_modules/$pkg is not installed (npm install)" >&2; exit 1; }
  mkdir -p "$P/node_modules/$pkg"
  (cd "$src" && for pat in "$@"; do
    # shellcheck disable=SC2086
    for f in $pat; do
      [ -e "$f" ] || { echo "build.sh: node_modules/$pkg/$pat not found" >&2; exit 1; }
      cp -r --parents "$f" "$P/node_modules/$pkg/"
    done
  done)
}
keep @tensorflow/tfjs-core package.json dist/tf-core.node.js
keep @tensorflow/tfjs-backend-cpu package.json dist/tf-backend-cpu.node.js
keep @tensorflow/tfjs-backend-wasm package.json dist/tf-backend-wasm.node.js 'dist/*.wasm'
keep @tensorflow/tfjs-backend-webgpu package.json dist/tf-backend-webgpu.node.js
keep webgpu package.json index.js LICENSE.md dist/linux-x64/dawn.node
keep seedrandom package.json index.js seedrandom.js 'lib/*.js'
keep papaparse package.json papaparse.js
# zod: the whole package less sources and type declarations (its exports map names many files).
mkdir -p "$P/node_modules/zod"
(cd "$NM/zod" && find . -type f ! -path './src/*' ! -name '*.d.ts' ! -name '*.d.cts' ! -name '*.d.mts' ! -name '*.map' ! -name '*.md' -print0 \
  | xargs -0 cp --parents -t "$P/node_modules/zod")
find "$P/node_modules/zod" -type d -name src -prune -exec rm -rf {} +

echo "payload: $(du -sh "$P" | cut -f1) uncompressed"
tar -C "$P" -cf - . | xz -T0 -6 > "$BUNDLE/payload.tar.xz"

# --- node
NODE_BIN="$(readlink -f "$(command -v node)")"
# Compressing node takes minutes on a small machine: keep the result per node version and size.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/s2prop-gpu-check"
NODE_XZ="$CACHE/node-$("$NODE_BIN" --version)-$(stat -c %s "$NODE_BIN").xz"
if [ ! -s "$NODE_XZ" ]; then
  mkdir -p "$CACHE"
  xz -T0 -6 -c "$NODE_BIN" > "$NODE_XZ.part" && mv "$NODE_XZ.part" "$NODE_XZ"
fi
cp "$NODE_XZ" "$BUNDLE/node.xz"

# --- the Vulkan loader (used on the far side only when the machine has none)
if ! ( cd "$STAGE" && apt-get download libvulkan1 >/dev/null 2>&1 ); then
  echo "build.sh: apt-get download libvulkan1 failed; taking this machine's libvulkan.so.1" >&2
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    if [ -e "$d/libvulkan.so.1" ]; then cp -L "$d/libvulkan.so.1" "$BUNDLE/vulkan/"; break; fi
  done
else
  dpkg-deb -x "$STAGE"/libvulkan1_*.deb "$STAGE/vk"
  cp -a "$STAGE"/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$BUNDLE/vulkan/"
  cp -a "$STAGE"/vk/usr/share/doc/libvulkan1/copyright "$BUNDLE/vulkan/copyright" 2>/dev/null || true
fi
[ -e "$BUNDLE/vulkan/libvulkan.so.1" ] || { echo "build.sh: no libvulkan.so.1 for the bundle" >&2; exit 1; }

cp scripts/gpu-check/run.sh "$BUNDLE/run.sh"
chmod +x "$BUNDLE/run.sh"
{
  echo "gpu-check bundle"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "node: $("$NODE_BIN" --version)"
  echo "vulkan loader: $(cd "$BUNDLE/vulkan" && ls libvulkan.so.1.* 2>/dev/null | head -1)"
  echo "run: bash gpu-check-bundle/run.sh [OUTDIR]   (OUTDIR default: \$OUT, else ./gpu-check-results)"
  echo
  (cd "$BUNDLE" && ls -l)
} > "$BUNDLE/MANIFEST.txt"

SIZE=$(du -sb "$BUNDLE" | cut -f1)
echo "bundle: $BUNDLE, $SIZE bytes ($((SIZE / 1024 / 1024)) MiB; limit 64 MiB)"
(cd "$BUNDLE" && ls -l)
if [ "$SIZE" -gt "$LIMIT" ]; then
  echo "build.sh: the bundle exceeds 64 MiB" >&2
  exit 1
fi

# --- a real run of the pruned payload (wasm only, a few seconds): fails the build when a module is missing.
if [ "$TEST" = 1 ]; then
  T="$STAGE/test"
  mkdir -p "$T"
  tar -C "$T" -xJf "$BUNDLE/payload.tar.xz"
  (cd "$T" && "$NODE_BIN" --no-wasm-dynamic-tiering scripts/gpu-check/agree.mjs --candidate cpu --only forward-twin,stacked-twin --out "$STAGE/agree-test.json") \
    || { echo "build.sh: the test run from the bundle failed" >&2; exit 1; }
  (cd "$T" && "$NODE_BIN" -e "await import('@tensorflow/tfjs-backend-webgpu'); await import('webgpu'); console.log('bundle: webgpu modules load')" --input-type=module) \
    || { echo "build.sh: the webgpu modules do not load from the bundle" >&2; exit 1; }
fi
echo "built $BUNDLE"
