#!/usr/bin/env bash
# The GPU check, on a machine with no Node.js, npm or network: unpacks the bundle that
# scripts/gpu-check/build.sh made (node, the built engine, a pruned node_modules, the Vulkan loader),
# finds the Vulkan loader and driver, and runs in order, each step writing its JSON into OUTDIR at once:
#   1. adapter.json      the WebGPU adapter and its limits
#   2. fma-probe.json    does the shader compiler fuse a * b + c?
#   3. agreement.json    webgpu against wasm: forward spikes, gradients, stacked trials, 3-epoch training
#   4. bench-gpu.json    training samples/s on wasm and webgpu (scripts/bench-gpu.mjs)
# plus run.json (each step's status and seconds) and logs/. Under 9 minutes in all (DEADLINE).
#
#   bash gpu-check-bundle/run.sh [OUTDIR]          # OUTDIR default: $OUT, else ./gpu-check-results
#   bash scripts/gpu-check/run.sh [OUTDIR]         # from the repository, the bundle at its root
#
# A step that fails or runs out of time is recorded and the next one runs.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$HERE/payload.tar.xz" ]; then BUNDLE="$HERE"; else BUNDLE="$(cd "$HERE/../.." && pwd)/gpu-check-bundle"; fi
[ -f "$BUNDLE/payload.tar.xz" ] || { echo "run.sh: no bundle at $BUNDLE (bash scripts/gpu-check/build.sh)" >&2; exit 1; }
OUTDIR="${1:-${OUT:-./gpu-check-results}}"
mkdir -p "$OUTDIR/logs"
OUTDIR="$(cd "$OUTDIR" && pwd)"
DEADLINE=${GPU_CHECK_DEADLINE:-525}   # seconds for the whole run
START=$SECONDS
log() { echo "[gpu-check $((SECONDS - START))s] $*"; }

# --- unpack (once: a stamp of the payload's size and date skips it on a rerun)
WORK="$BUNDLE/work"
if ! mkdir -p "$WORK" 2>/dev/null || [ ! -w "$WORK" ]; then WORK="$(mktemp -d)"; fi
STAMP="$(stat -c '%s %Y' "$BUNDLE/payload.tar.xz" "$BUNDLE/node.xz" | tr '\n' ' ')"
if [ ! -x "$WORK/node" ] || [ "$(cat "$WORK/.stamp" 2>/dev/null)" != "$STAMP" ]; then
  log "unpacking into $WORK"
  rm -rf "$WORK/app" "$WORK/node"
  mkdir -p "$WORK/app"
  if command -v xz >/dev/null && tar --version >/dev/null 2>&1; then
    xz -dc "$BUNDLE/node.xz" > "$WORK/node" && tar -C "$WORK/app" -xJf "$BUNDLE/payload.tar.xz"
  else
    log "no xz/tar: unpacking with python3"
    python3 - "$BUNDLE" "$WORK" <<'PY'
import lzma, shutil, sys, tarfile
bundle, work = sys.argv[1], sys.argv[2]
with lzma.open(f"{bundle}/node.xz") as src, open(f"{work}/node", "wb") as dst:
    shutil.copyfileobj(src, dst)
with tarfile.open(f"{bundle}/payload.tar.xz", "r:xz") as t:
    t.extractall(f"{work}/app")
PY
  fi
  chmod +x "$WORK/node"
  echo "$STAMP" > "$WORK/.stamp"
fi
NODE="$WORK/node"
APP="$WORK/app"
"$NODE" --version >/dev/null || { echo "run.sh: the bundled node does not run here" >&2; exit 1; }

# --- Vulkan: the loader, and the driver's ICD file
notes=()
if (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) | grep -q 'libvulkan\.so\.1'; then
  loader="system"
else
  loader="bundled"
  export LD_LIBRARY_PATH="$BUNDLE/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
icds=()
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
  for f in "$d"/*.json; do [ -e "$f" ] && icds+=("$f"); done
done
icd_set=""
# Point the loader at NVIDIA's ICD when the usual places hold none of NVIDIA's (none at all, or only
# Mesa's) and the environment names none: a file found elsewhere, or one written for NVIDIA's library.
nvidia_icd_listed=0
for f in "${icds[@]+"${icds[@]}"}"; do grep -qi nvidia "$f" 2>/dev/null && nvidia_icd_listed=1; done
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ "$nvidia_icd_listed" = 0 ]; then
  found="$(find /usr/local/nvidia /usr/share /etc /usr/lib /usr/lib64 -maxdepth 6 -name 'nvidia_icd*.json' 2>/dev/null | head -1)"
  if [ -n "$found" ]; then
    icd_set="$found"
  else
    # No ICD file, but NVIDIA's driver library (which holds its Vulkan driver) may be there: write one.
    for lib in libGLX_nvidia.so.0 libEGL_nvidia.so.0; do
      if (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) | grep -q "$lib"; then
        icd_set="$WORK/nvidia_icd.json"
        printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$lib" > "$icd_set"
        notes+=("wrote an ICD file for $lib")
        break
      fi
    done
  fi
  if [ -n "$icd_set" ]; then export VK_DRIVER_FILES="$icd_set" VK_ICD_FILENAMES="$icd_set"; fi
fi
nvlibs="$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) | grep -oE 'lib(GLX|EGL)_nvidia\.so\.0|libnvidia-(glcore|gpucomp)\.so[.0-9]*' | sort -u | tr '\n' ' ')"
json_list() { local s="" x; for x in "$@"; do s+="${s:+,}\"$x\""; done; echo "[$s]"; }
export GPU_CHECK_VULKAN="{\"loader\":\"$loader\",\"icdFiles\":$(json_list "${icds[@]+"${icds[@]}"}"),\"icdSet\":\"$icd_set\",\"nvidiaLibraries\":\"$nvlibs\",\"notes\":$(json_list "${notes[@]+"${notes[@]}"}")}"
log "vulkan: loader $loader; ICD files: ${icds[*]:-none}${icd_set:+; using $icd_set}; NVIDIA libraries: ${nvlibs:-none}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUTDIR/logs/nvidia-smi.csv" 2>&1

# --- the steps
STEPS_JSON=""
write_run() {
  printf '{\n  "bundle": "%s",\n  "node": "%s",\n  "vulkan": %s,\n  "started": "%s",\n  "steps": [%s\n  ]\n}\n' \
    "$(head -3 "$BUNDLE/MANIFEST.txt" 2>/dev/null | tail -2 | tr '\n' ' ' | tr -d '"')" "$("$NODE" --version)" "$GPU_CHECK_VULKAN" "$STARTED" "$STEPS_JSON" > "$OUTDIR/run.json"
}
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
write_run
# step NAME LIMIT_SECONDS COMMAND...: runs in the app folder with a time limit (never past the deadline).
step() {
  local name="$1" limit="$2"; shift 2
  local left=$((DEADLINE - (SECONDS - START)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    log "$name: skipped (deadline)"
    STEPS_JSON+="${STEPS_JSON:+,}"$'\n'"    {\"step\":\"$name\",\"status\":\"skipped: deadline\"}"
    write_run
    return
  fi
  log "$name (at most ${limit}s)"
  local t0=$SECONDS rc
  if command -v timeout >/dev/null; then
    (cd "$APP" && timeout -k 10 "$limit" "$@") 2>&1 | tee "$OUTDIR/logs/$name.log" | grep -v '^Warning: max' ; rc=${PIPESTATUS[0]}
  else
    (cd "$APP" && "$@") 2>&1 | tee "$OUTDIR/logs/$name.log" | grep -v '^Warning: max'; rc=${PIPESTATUS[0]}
  fi
  LAST_RC=$rc
  local status="ok"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status="timed out after ${limit}s"; elif [ "$rc" != 0 ]; then status="failed (exit $rc)"; fi
  log "$name: $status in $((SECONDS - t0))s"
  STEPS_JSON+="${STEPS_JSON:+,}"$'\n'"    {\"step\":\"$name\",\"status\":\"$status\",\"exit\":$rc,\"seconds\":$((SECONDS - t0))}"
  write_run
}

N="$NODE --no-wasm-dynamic-tiering"
step adapter 60 $N scripts/gpu-check/adapter.mjs --out "$OUTDIR/adapter.json"
# NVIDIA's nvidia_icd.json names libGLX_nvidia.so.0, which in a headless container can load and still
# give no vkCreateInstance (seen on an H200 with driver 580); libEGL_nvidia.so.0 holds the same Vulkan
# driver and needs no X server. Try it, then GLX by name, when the first probe found no adapter.
if [ "$LAST_RC" != 0 ] && [ -n "$nvlibs" ]; then
  for lib in libEGL_nvidia.so.0 libGLX_nvidia.so.0; do
    icd="$WORK/icd-${lib%%.*}.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$lib" > "$icd"
    export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
    step "adapter-${lib%%.*}" 60 $N scripts/gpu-check/adapter.mjs --out "$OUTDIR/adapter.json"
    [ "$LAST_RC" = 0 ] && break
    unset VK_DRIVER_FILES VK_ICD_FILENAMES
  done
fi
# GPU_CHECK_STEPS picks the steps after the adapter (default: the check). `seeds` runs
# scripts/train-seeds.mjs on webgpu once per '|'-separated argument list in GPU_CHECK_SEEDS, e.g.
#   GPU_CHECK_STEPS=seeds GPU_CHECK_SEEDS='--preset exact --seeds 10|--preset exact --seeds 10 --set loss.alpha=0.01'
for s in ${GPU_CHECK_STEPS:-fma-probe agreement bench-gpu}; do
  case "$s" in
    fma-probe) step fma-probe 60 $N scripts/gpu-check/fma-probe.mjs --out "$OUTDIR/fma-probe.json" ;;
    agreement) step agreement 230 $N scripts/gpu-check/agree.mjs --out "$OUTDIR/agreement.json" --budget 210 ;;
    bench-gpu)
      left=$((DEADLINE - (SECONDS - START) - 10))
      step bench-gpu $((left > 0 ? left : 0)) $N scripts/bench-gpu.mjs --out "$OUTDIR/bench-gpu.json" --budget "${GPU_CHECK_BENCH_BUDGET:-8}" --total-budget $((left > 20 ? left - 15 : 5)) ;;
    seeds)
      i=0
      IFS='|' read -ra runs <<< "${GPU_CHECK_SEEDS:---preset exact --seeds 10}"
      for r in "${runs[@]}"; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        step "seeds-$i" "${GPU_CHECK_SEEDS_LIMIT:-300}" $N scripts/train-seeds.mjs $r --backend webgpu --out "$OUTDIR/seeds-$i.json"
      done ;;
    *) log "unknown step $s (expected fma-probe, agreement, bench-gpu, seeds)" ;;
  esac
done
log "done in $((SECONDS - START))s; results in $OUTDIR"
