#!/usr/bin/env bash
# Runs CMD on the device with the bundle made by scripts/device/pack.sh (from the repo root):
#
#   bash scripts/device/run.sh node .devbundle/app/probe.mjs
#
# Unpacks .devbundle/node.deb into /tmp/node and .devbundle/xroot.deb into /tmp/xroot (dpkg -x,
# never into /), starts the unpacked Xvfb (+extension GLX, Mesa swrast for the server side) on a
# free display from :99, prints diagnostics (GPU, NVIDIA GLX libraries, what renderer a headless-gl
# context gets), runs CMD with the bundled node first on PATH and DISPLAY set, stops Xvfb and exits
# with CMD's status.
#
# Environment:
#   GLX_VENDOR        nvidia (default when libGLX_nvidia.so.0 is found), mesa (Mesa llvmpipe on
#                     the CPU), or auto (no override: glvnd asks the X server, which says mesa).
#                     Without an explicit GLX_VENDOR, a failed nvidia context falls back to mesa
#                     with a warning.
#   PBUFFER_SHIM      auto (default: only when the NVIDIA library loads but gives no context), 1, 0:
#                     back ANGLE's GLX pbuffers by X windows (scripts/device/pbuffer-shim.c)
#   OUT               where xvfb.log and run-env.txt go (default /tmp)
#   DEVBUNDLE         the bundle folder (default .devbundle next to scripts/)
#   DEVBUNDLE_ISOLATE 1: use the bundle's fallback libraries before the system's (local tests)
#   XVFB_SCREEN       default 1280x1024x24
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${DEVBUNDLE:-$ROOT/.devbundle}
XROOT=/tmp/xroot
NODEDIR=/tmp/node
LOGDIR=${OUT:-/tmp}
mkdir -p "$LOGDIR"
XLOG=$LOGDIR/xvfb.log

say() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] error: %s\n' "$*" >&2; exit 125; }

[ $# -ge 1 ] || die "usage: bash scripts/device/run.sh CMD [ARGS...]"
for f in node.deb xroot.deb modules.deb; do
  [ -f "$B/$f" ] || die "no $B/$f: run scripts/device/pack.sh here first and carry .devbundle"
done

# ---------------------------------------------------------------- unpack (dpkg -x, else python3)
unpack() { # deb dest
  local deb=$1 dest=$2 stamp
  stamp="$(cksum < "$deb")"
  [ -f "$dest/.devbundle-stamp" ] && [ "$(cat "$dest/.devbundle-stamp")" = "$stamp" ] && return 0
  rm -rf "$dest"; mkdir -p "$dest"
  if command -v dpkg-deb >/dev/null 2>&1; then
    dpkg-deb -x "$deb" "$dest" || die "dpkg-deb -x $deb failed"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$deb" "$dest" <<'EOF' || die "python3 could not unpack $deb"
import io, sys, tarfile
deb, dest = sys.argv[1:]
with open(deb, 'rb') as f:
    assert f.read(8) == b'!<arch>\n', 'not a .deb'
    while True:
        h = f.read(60)
        if len(h) < 60: sys.exit('no data.tar in ' + deb)
        name, size = h[:16].decode().strip().rstrip('/'), int(h[48:58])
        data = f.read(size); f.read(size % 2)
        if name.startswith('data.tar'):
            kw = {'filter': 'fully_trusted'} if hasattr(tarfile, 'fully_trusted_filter') else {}
            tarfile.open(fileobj=io.BytesIO(data), mode='r:*').extractall(dest, **kw)
            break
EOF
  else
    die "neither dpkg-deb nor python3 here to unpack $deb"
  fi
  echo "$stamp" > "$dest/.devbundle-stamp"
}
t0=$(date +%s)
unpack "$B/node.deb" "$NODEDIR"
unpack "$B/xroot.deb" "$XROOT"
unpack "$B/modules.deb" /tmp/devbundle-modules       # holds node_modules/ (gpu.js, gl, ...)
rm -rf "$B/app/node_modules" && ln -sfn /tmp/devbundle-modules/node_modules "$B/app/node_modules"
say "unpacked node + xroot in $(( $(date +%s) - t0 )) s"
NODE=$NODEDIR/bin/node
[ -x "$NODE" ] || die "no $NODE after unpacking"

# ---------------------------------------------------------------- library paths
LIB=$XROOT/usr/lib/x86_64-linux-gnu   # bundle-first: glvnd loaders, Mesa (glapi, LLVM, dri/)
FB=$XROOT/fallback/lib                # after the system's: X libs, libdrm, ..., stubs
SYS=""
for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /lib64; do
  [ -d "$d" ] && [ ! -L "$d" ] && SYS="$SYS:$d"
done
SYS=${SYS#:}
if [ "${DEVBUNDLE_ISOLATE:-0}" = 1 ]; then BASE="$LIB:$FB:$SYS"; else BASE="$LIB:$SYS:$FB"; fi
# NVIDIA driver libraries (libGLX_nvidia.so.0 and its libnvidia-glcore / -tls / -glsi) first.
NV=""; NVFOUND=""
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
  ls "$d"/libGLX_nvidia.so.* >/dev/null 2>&1 || continue
  NVFOUND="${NVFOUND:+$NVFOUND:}$d"
  case $d in /usr/local/*) NV="${NV:+$NV:}$d" ;; esac   # system dirs are on the path already
done
CLIENT_LD="${NV:+$NV:}$BASE${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# ---------------------------------------------------------------- Xvfb
# Xvfb runs the keymap compiler as /tmp/.xb/xkbcomp (pack.sh patched the binary).
ln -sfn "$XROOT/usr/bin" /tmp/.xb
XVFB=$XROOT/usr/bin/Xvfb
n=99
while [ -e /tmp/.X$n-lock ] || [ -e /tmp/.X11-unix/X$n ]; do n=$((n + 1)); done
DISP=:$n
dfile=$(mktemp)
say "starting $XVFB $DISP (log $XLOG)"
env -u __GLX_VENDOR_LIBRARY_NAME LD_LIBRARY_PATH="$BASE" LIBGL_DRIVERS_PATH="$LIB/dri" \
  "$XVFB" "$DISP" -screen 0 "${XVFB_SCREEN:-1280x1024x24}" +extension GLX +render -noreset -nolisten tcp \
  -xkbdir "$XROOT/usr/share/X11/xkb" -fp built-ins -displayfd 3 3>"$dfile" >"$XLOG" 2>&1 &
XPID=$!
cleanup() { kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; rm -f "$dfile"; [ -L "$B/app/node_modules" ] && rm -f "$B/app/node_modules"; }
trap cleanup EXIT
for _ in $(seq 1 150); do
  [ -s "$dfile" ] && break
  kill -0 "$XPID" 2>/dev/null || { sed 's/^/[xvfb] /' "$XLOG" >&2; die "Xvfb exited during start-up"; }
  sleep 0.2
done
[ -s "$dfile" ] || { sed 's/^/[xvfb] /' "$XLOG" >&2; die "Xvfb did not become ready in 30 s"; }
say "Xvfb ready on $DISP (pid $XPID, $(readlink -f /proc/$XPID/exe))"
say "Xvfb GL libraries: $(grep -oE '/[^ ]*/(swrast_dri|libLLVM|libGL|libGLX|libglapi|libGLdispatch)[^ /]*$' /proc/$XPID/maps 2>/dev/null | sort -u | tr '\n' ' ')"
export DISPLAY=$DISP

# ---------------------------------------------------------------- diagnostics
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>&1 | sed 's/^/[gpu] /' >&2
else say "no nvidia-smi"; fi
for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
  l=$(ls "$d" 2>/dev/null | grep -iE '^lib(GLX|EGL|nvidia-(glcore|glsi|tls|eglcore))' | tr '\n' ' ')
  [ -n "$l" ] && say "$d: $l"
done
say "glibc $(ldd --version 2>/dev/null | head -1 | awk '{print $NF}'); bundle needs $(grep '^# needs' "$XROOT/MANIFEST" | cut -d: -f2-)"

# A headless-gl context with the bundle's gl, as the gpujs backend will get it; prints the GL
# libraries the process mapped (glvnd quietly uses the X server's vendor, mesa, when the named one
# does not load).
SHIMDIR=$XROOT/shim
REAL_LIBGL=""
IFS=: read -ra _dirs <<<"$CLIENT_LD"
for d in "${_dirs[@]}"; do [ -n "$d" ] && [ -e "$d/libGL.so.1" ] && { REAL_LIBGL=$(readlink -f "$d/libGL.so.1"); break; }; done
glprobe() { # vendor shim(0|1)
  local v=$1 venv=() ld=$CLIENT_LD
  [ "$v" != auto ] && venv+=(__GLX_VENDOR_LIBRARY_NAME="$v")
  [ "$2" = 1 ] && { ld=$SHIMDIR:$CLIENT_LD; venv+=(DEVBUNDLE_REAL_LIBGL="$REAL_LIBGL"); }
  env "${venv[@]}" LD_LIBRARY_PATH="$ld" LIBGL_DRIVERS_PATH="$LIB/dri" DISPLAY="$DISP" \
    timeout 120 "$NODE" --input-type=module -e "
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const libs = () => [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5])
  .filter((f) => /\\/(libGL|libGLX|libGLdispatch|libglapi|libnvidia-gl|swrast_dri|libLLVM)[^/]*$/.test(f ?? '')))];
const req = createRequire('$B/app/x.mjs');
const gl = req('gl')(64, 64);
if (!gl) { console.log(JSON.stringify({ context: null, libs: libs() })); process.exit(2); }
const dbg = gl.getExtension('WEBGL_debug_renderer_info');
const p = (e) => String(gl.getParameter(e));
console.log(JSON.stringify({ renderer: dbg ? p(dbg.UNMASKED_RENDERER_WEBGL) : p(gl.RENDERER), vendor: dbg ? p(dbg.UNMASKED_VENDOR_WEBGL) : p(gl.VENDOR),
  version: p(gl.VERSION), maxTexture: gl.getParameter(gl.MAX_TEXTURE_SIZE), floatTextures: !!gl.getExtension('OES_texture_float'), gl: req.resolve('gl'), libs: libs() }));
gl.getExtension('STACKGL_destroy_context')?.destroy();
" 2>&1
}
if [ -n "${GLX_VENDOR:-}" ]; then VENDOR=$GLX_VENDOR; EXPLICIT=1
elif [ -n "$NVFOUND" ]; then VENDOR=nvidia; EXPLICIT=0
else VENDOR=mesa; EXPLICIT=1; say "WARNING: no libGLX_nvidia.so.0 found: GLX_VENDOR=mesa (CPU llvmpipe)"; fi
SHIM=${PBUFFER_SHIM:-auto}
USE_SHIM=0; [ "$SHIM" = 1 ] && USE_SHIM=1
[ "$USE_SHIM" = 1 ] && [ ! -f "$SHIMDIR/libGL.so.1" ] && { say "WARNING: no $SHIMDIR/libGL.so.1 in the bundle"; USE_SHIM=0; }
out=$(glprobe "$VENDOR" $USE_SHIM); rc=$?
say "headless-gl with GLX vendor $VENDOR$([ $USE_SHIM = 1 ] && echo ' + pbuffer shim'): $out"
if [ "$VENDOR" = nvidia ] && ! grep -q 'libGLX_nvidia' <<<"$out"; then
  why=$(LD_LIBRARY_PATH="$CLIENT_LD" "$NODE" -e "try { process.dlopen({ exports: {} }, 'libGLX_nvidia.so.0') } catch (e) { console.log(e.message) }" 2>&1 | head -3)
  say "WARNING: libGLX_nvidia.so.0 did not load (glvnd fell back to Mesa, CPU rendering): ${why:-no error from dlopen}"
fi
# ANGLE makes its surfaces as GLX pbuffers; if the NVIDIA library loaded but gave no context, retry
# with the shim that backs pbuffers by X windows (scripts/device/pbuffer-shim.c).
if [ $rc -ne 0 ] && [ "$SHIM" = auto ] && [ $USE_SHIM = 0 ] && [ -f "$SHIMDIR/libGL.so.1" ] && [ -n "$REAL_LIBGL" ]; then
  out2=$(glprobe "$VENDOR" 1); rc2=$?
  say "headless-gl with GLX vendor $VENDOR + pbuffer shim: $out2"
  [ $rc2 -eq 0 ] && { out=$out2; rc=0; USE_SHIM=1; }
fi
if [ $rc -ne 0 ] && [ "$EXPLICIT" = 0 ]; then
  say "WARNING: no context with the nvidia GLX vendor library; falling back to GLX_VENDOR=mesa (CPU llvmpipe)"
  VENDOR=mesa; USE_SHIM=0
  out=$(glprobe mesa 0); rc=$?
  say "headless-gl with GLX vendor mesa: $out"
fi
[ $rc -eq 0 ] || say "WARNING: headless-gl gets no context; the command will probably fail (see $XLOG)"
case $out in *libGLX_nvidia*) say "GL: NVIDIA (libGLX_nvidia)$([ $USE_SHIM = 1 ] && echo ', pbuffers as windows')" ;; *swrast_dri*) say "GL: Mesa swrast (CPU)" ;; esac

# ---------------------------------------------------------------- the command
export PATH="$NODEDIR/bin:$XROOT/usr/bin:$PATH"
export LD_LIBRARY_PATH="$CLIENT_LD"
if [ "$USE_SHIM" = 1 ]; then export LD_LIBRARY_PATH="$SHIMDIR:$CLIENT_LD" DEVBUNDLE_REAL_LIBGL="$REAL_LIBGL"; fi
export LIBGL_DRIVERS_PATH="$LIB/dri"
if [ "$VENDOR" = auto ]; then unset __GLX_VENDOR_LIBRARY_NAME; else export __GLX_VENDOR_LIBRARY_NAME=$VENDOR; fi
nvjson=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$nvjson" ] && [ ! -f /usr/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
  export __EGL_VENDOR_LIBRARY_FILENAMES=$nvjson
fi
{
  echo "DISPLAY=$DISPLAY"; echo "GLX_VENDOR=$VENDOR"; echo "PBUFFER_SHIM=$USE_SHIM"; echo "context=$out"
  echo "PATH=$PATH"; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; echo "node=$(command -v node) $(node -v)"
} > "$LOGDIR/run-env.txt"
say "running: $*"
"$@"
status=$?
say "exit status $status"
exit $status
