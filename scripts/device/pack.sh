#!/usr/bin/env bash
# Packs what a gpujs (gpu.js 'headlessgl') program needs to run on a bare remote x86-64 Linux box
# with no network, no Node and no X: .devbundle/ at the repo root (ignored by git; carried to the
# device with carry [".devbundle"]). Unpacked and run there by scripts/device/run.sh.
#
#   scripts/device/pack.sh ENTRY.ts [ENTRY2.ts ...]
#
# .devbundle/
#   app/<entry>.mjs          each entry bundled by esbuild (gpu.js, gl stay external)
#   modules.deb              app/node_modules: gpu.js + gl (JS + stripped webgl.node) + their
#                            runtime dependencies (gl's build tooling and gpu.js's webgpu left out)
#   node.deb                 the Node binary (stripped); unpacks to bin/node
#   xroot.deb                Xvfb (patched: runs /tmp/.xb/xkbcomp), xkbcomp, xkb-data, the X client
#                            libraries, the glvnd GL loaders and Mesa (swrast_dri.so + libLLVM-15):
#                            the file-level closure of Debian 12 packages, with libz3 / libxml2
#                            replaced by stubs; unpacks to usr/..., fallback/lib, MANIFEST
# The .deb files are ar archives with an xz data.tar (x86 BCJ filter for executables), unpacked by
# run.sh with dpkg-deb -x (or python3) into /tmp (node, xroot, modules), never into /.
#
# Environment: DEVBUNDLE_CACHE (default /tmp/devbundle-cache: downloaded debs, compressed node),
# NODE_BIN (default: the node on PATH), DEVBUNDLE_MAX_MIB (default 55: warn above).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/.devbundle
CACHE=${DEVBUNDLE_CACHE:-/tmp/devbundle-cache}
MAX_MIB=${DEVBUNDLE_MAX_MIB:-55}
ESBUILD=$ROOT/node_modules/.bin/esbuild
ARCH_LIB=usr/lib/x86_64-linux-gnu

say() { printf '[pack] %s\n' "$*" >&2; }
die() { printf '[pack] error: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: scripts/device/pack.sh ENTRY.ts [ENTRY2.ts ...]"
[ "$(uname -m)" = x86_64 ] || die "packs x86-64 binaries; run on x86-64"
for t in dpkg-deb apt-get apt-cache readelf nm strip gcc xz tar node; do command -v $t >/dev/null || die "needs $t"; done
[ -x "$ESBUILD" ] || die "no $ESBUILD (npm ci first)"
[ -f "$ROOT/node_modules/gl/build/Release/webgl.node" ] || die "gl's webgl.node is not built"
mkdir -p "$CACHE" "$OUT"

# A .deb (ar: debian-binary, control.tar.xz, data.tar.xz) of folder $1 as $2, package name $3,
# xz filter options $4. Built by hand so that executables get xz's x86 BCJ filter (dpkg-deb has
# no option for it; any xz decoder, dpkg's or python's lzma, reads it).
mkdeb() {
  local dir=$1 out=$2 name=$3 xzopt=$4 t
  t=$(mktemp -d)
  printf 'Package: %s\nVersion: 1\nArchitecture: amd64\nMaintainer: contrastlab\nDescription: devbundle part for scripts/device/run.sh\n' "$name" > "$t/control"
  tar -C "$t" --owner=0 --group=0 --numeric-owner -cf - ./control | xz -9 > "$t/control.tar.xz"
  tar -C "$dir" --owner=0 --group=0 --numeric-owner --sort=name --exclude=./DEBIAN -cf - . | xz $xzopt -T1 > "$t/data.tar.xz"
  printf '2.0\n' > "$t/debian-binary"
  node -e '
    const fs = require("fs"); const [out, ...members] = process.argv.slice(1);
    const pad = (s, n) => String(s).padEnd(n).slice(0, n);
    const parts = [Buffer.from("!<arch>\n")];
    for (const m of members) {
      const data = fs.readFileSync(m);
      parts.push(Buffer.from(pad(m.split("/").pop(), 16) + pad(Math.floor(Date.now() / 1000), 12) + pad(0, 6) + pad(0, 6) + pad("100644", 8) + pad(data.length, 10) + "`\n"), data);
      if (data.length % 2) parts.push(Buffer.from("\n"));
    }
    fs.writeFileSync(out, Buffer.concat(parts));' "$out" "$t/debian-binary" "$t/control.tar.xz" "$t/data.tar.xz"
  rm -rf "$t"
  dpkg-deb -c "$out" >/dev/null || die "$out: dpkg-deb cannot read it"
}
XZ_EXE='--x86 --lzma2=preset=9e,dict=128MiB'
XZ_DATA='--lzma2=preset=9e'

# ---------------------------------------------------------------- git: keep .devbundle out of git
GITDIR=$(git -C "$ROOT" rev-parse --git-common-dir 2>/dev/null || true)
if [ -n "$GITDIR" ]; then
  case $GITDIR in /*) ;; *) GITDIR=$ROOT/$GITDIR ;; esac
  mkdir -p "$GITDIR/info"
  grep -qxF '/.devbundle/' "$GITDIR/info/exclude" 2>/dev/null || echo '/.devbundle/' >> "$GITDIR/info/exclude"
fi

# ---------------------------------------------------------------- (a) bundles
rm -rf "$OUT/app"
mkdir -p "$OUT/app"
for entry in "$@"; do
  [ -f "$entry" ] || die "no entry $entry"
  name=$(basename "$entry"); name=${name%.*}
  [ ! -e "$OUT/app/$name.mjs" ] || die "two entries named $name"
  say "esbuild $entry -> .devbundle/app/$name.mjs"
  "$ESBUILD" "$entry" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:gpu.js --external:gl --external:webgpu --external:@resvg/resvg-js \
    --alias:vitest="$ROOT/scripts/device/mini-vitest.ts" --alias:@fast-check/vitest="$ROOT/scripts/device/mini-vitest.ts" \
    "--banner:js=import { createRequire as __devbundleCreateRequire } from 'node:module'; const require = __devbundleCreateRequire(import.meta.url);" \
    --outfile="$OUT/app/$name.mjs"
done

# ---------------------------------------------------------------- (b) node_modules for gpu.js + gl
say "copying gpu.js + gl runtime closure"
node - "$ROOT" "$OUT/app" <<'EOF'
const fs = require('fs'), path = require('path');
const [root, app] = process.argv.slice(2);
// Build-time or unused dependencies: gl's install tooling (it is already built), gpu.js's webgpu
// (only its explicit 'webgpu' mode loads it, which the gpujs backend refuses).
const SKIP = new Set(['nan', 'node-abi', 'node-gyp', 'prebuild-install', 'webgpu', '@webgpu/types']);
// Per package: which files to keep (default: everything but nested node_modules and docs/tests).
const KEEP = {
  gl: (rel) => rel === 'package.json' || rel === 'index.js' || rel.startsWith('LICENSE') || rel.startsWith('src/javascript/') || rel === 'build/Release/webgl.node',
  'gpu.js': (rel) => rel === 'package.json' || rel === 'LICENSE' || rel.startsWith('src/'),
};
const defaultKeep = (rel) => !/(^|\/)(node_modules|test|tests|docs?|example|examples|\.github)(\/|$)/.test(rel) && !/\.(md|markdown|map|d\.ts|d\.mts|d\.cts|ts)$/i.test(rel) || /^LICEN[CS]E/i.test(rel);
function resolveDir(name, from) {
  for (let d = from; ; d = path.dirname(d)) {
    const p = path.join(d, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
    if (d === root || d === path.dirname(d)) return null;
  }
}
const seen = new Map();
function walk(dir) {
  const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  seen.set(dir, pj.name);
  const deps = { ...pj.dependencies, ...pj.optionalDependencies };
  for (const n of Object.keys(deps)) {
    if (SKIP.has(n)) continue;
    const p = resolveDir(n, dir);
    if (!p) { if (pj.optionalDependencies?.[n]) continue; throw new Error(`cannot resolve ${n} from ${dir}`); }
    if (!seen.has(p)) walk(p);
  }
}
for (const top of ['gpu.js', 'gl']) walk(path.join(root, 'node_modules', top));
let bytes = 0;
for (const [dir, name] of seen) {
  const keep = KEEP[name] ?? defaultKeep;
  const dest = path.join(app, path.relative(root, dir));
  const copy = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name), rel = path.relative(dir, abs).split(path.sep).join('/');
      if (e.isDirectory()) { if (e.name !== 'node_modules') copy(abs); continue; }
      if (!e.isFile() || !keep(rel)) continue;
      fs.mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
      fs.copyFileSync(abs, path.join(dest, rel));
      bytes += fs.statSync(abs).size;
    }
  };
  copy(dir);
}
console.error(`[pack] ${seen.size} packages: ${[...seen.values()].join(' ')} (${(bytes / 1048576).toFixed(1)} MiB)`);
EOF
# the copies must load from the bundle's folder (gl's binding needs X libs; failure to create a context is fine here)
node --input-type=module -e "
import { createRequire } from 'node:module';
const r = createRequire('$OUT/app/x.mjs');
r('gpu.js'); r('gl');
const gp = r.resolve('gpu.js'), gl = r.resolve('gl');
if (!gp.startsWith('$OUT/') || !gl.startsWith('$OUT/')) throw new Error('resolved outside the bundle: ' + gp + ' ' + gl);
" || die "the copied gpu.js / gl do not load"
strip --strip-unneeded "$OUT/app/node_modules/gl/build/Release/webgl.node"
node -e "require('module').createRequire('$OUT/app/x.js')('gl')" || die "the stripped webgl.node does not load"
# Shipped as modules.deb (run.sh unpacks it into .devbundle/app/node_modules): 4.7 -> 1 MiB.
modbytes=$(du -sb "$OUT/app/node_modules" | cut -f1)
t=$(mktemp -d); mv "$OUT/app/node_modules" "$t/"
mkdeb "$t" "$OUT/modules.deb" devbundle-modules "$XZ_DATA"
rm -rf "$t"

# ---------------------------------------------------------------- (c) node
NODE_BIN=${NODE_BIN:-$(command -v node)}
NODE_BIN=$(readlink -f "$NODE_BIN")
nodesum=$(sha256sum "$NODE_BIN" | cut -c1-16)
nodedeb=$CACHE/node-v2-$nodesum.deb
if [ ! -f "$nodedeb" ]; then
  rm -f "$CACHE"/node-*.deb
  say "compressing $NODE_BIN ($("$NODE_BIN" -v)), stripped, xz -9e (about a minute)"
  t=$(mktemp -d)
  mkdir -p "$t/bin"
  strip --strip-all -o "$t/bin/node" "$NODE_BIN"
  "$t/bin/node" -e 0 || die "the stripped node does not run"
  mkdeb "$t" "$nodedeb.tmp" devbundle-node "$XZ_EXE"
  mv "$nodedeb.tmp" "$nodedeb"; rm -rf "$t"
fi
cp "$nodedeb" "$OUT/node.deb"

# ---------------------------------------------------------------- (d) Xvfb, X client libs, GL loaders, Mesa
# Roots: Xvfb and what it runs (xkbcomp, keymaps), the X client libraries webgl.node links, the
# glvnd loaders (libGL.so.1 is what headless-gl's ANGLE dlopens), Mesa's GLX vendor library and its
# swrast DRI driver (Xvfb's GLX extension needs it; also the client with GLX_VENDOR=mesa).
PKGS="xvfb xserver-common x11-xkb-utils xkb-data libgl1-mesa-dri libglx-mesa0 libglapi-mesa
  libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2
  libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0"
# Never packed: the C/C++ runtime (the remote's own, newer), alternatives that clash, scripts.
NOPKG='^(libc6|libgcc-s1|libstdc\+\+6|gcc-1[0-9]-base|libelogind0|lsb-base|sysvinit-utils|debconf|perl-base|dpkg|tar|coreutils|x11-common)$'
debdir=$CACHE/debs
mkdir -p "$debdir"
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances $PKGS 2>/dev/null \
  | grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$NOPKG") || die "apt-cache depends failed (apt-get update?)"
# The cached .deb of package $1 at its candidate version, if any.
cached_deb() {
  local v x
  v=$(apt-cache policy "$1" | awk '/Candidate:/ {print $2}')
  for x in "$debdir/$1_"*.deb; do
    [ -f "$x" ] && [ "$(dpkg-deb -f "$x" Version)" = "$v" ] && { echo "$x"; return 0; }
  done
  return 0
}
need=()
for p in $closure; do
  [ -n "$(cached_deb "$p")" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get download ${#need[@]} packages"
  (cd "$debdir" && apt-get download "${need[@]}" 2>&1 | grep -Ev '^(Get:|W: Download is performed unsandboxed|Fetched)' >&2 || true)
fi
debs=()
for p in $closure; do
  f=$(cached_deb "$p")
  [ -n "$f" ] || die "no .deb for $p (offline? apt-get update?)"
  debs+=("$f")
done
XROOT_REV=2   # bump when the xroot recipe below changes (the cache key)
key=$( (printf '%s\n' "${debs[@]}" | xargs -n1 basename; echo "rev $XROOT_REV") | sha256sum | cut -c1-16)
xrootdeb=$CACHE/xroot-$key.deb
if [ ! -f "$xrootdeb" ]; then
  say "building xroot from ${#debs[@]} Debian packages (about 2 minutes: xz -9e of libLLVM)"
  rm -f "$CACHE"/xroot-*.deb
  st=$(mktemp -d); tree=$(mktemp -d)
  for f in "${debs[@]}"; do dpkg -x "$f" "$st"; done
  # Library lookup in the staging root (usr/lib and the /lib compatibility path).
  findlib() { for d in "$st/$ARCH_LIB" "$st/lib/x86_64-linux-gnu"; do [ -e "$d/$1" ] && { echo "$d/$1"; return 0; }; done; return 1; }
  # Sonames left to the remote system (the C / C++ runtime).
  SYSTEM='^(libc|libm|libdl|libpthread|librt|libutil|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s)\.so'
  # Sonames replaced by stubs (only LLVM links them, for code Mesa never runs; the real ones are
  # 30 MiB with libicu): every symbol the consumer imports, each aborting if ever called.
  STUBS='^(libz3\.so\.4|libxml2\.so\.2)$'
  # Bundle-first (Mesa must match its own glapi / LLVM; the glvnd loaders): in usr/lib/x86_64-linux-gnu.
  # Everything else goes to fallback/lib, searched after the remote's own libraries.
  MAIN='^(libGL|libGLX|libGLdispatch|libEGL\.|libOpenGL|libGLES|libglapi|libLLVM)'
  declare -A done_=() stubcons=()
  queue=("$st/usr/bin/Xvfb" "$st/usr/bin/xkbcomp" "$st/$ARCH_LIB/dri/swrast_dri.so")
  for so in libGLX_mesa.so.0 libGL.so.1 libGLX.so.0 libGLdispatch.so.0 libEGL.so.1 libOpenGL.so.0 libGLESv2.so.2 \
            libX11.so.6 libXext.so.6 libxcb.so.1 libXau.so.6 libXdmcp.so.6 libbsd.so.0 libmd.so.0; do
    p=$(findlib $so) || die "no $so in the packages"
    queue+=("$p")
  done
  mkdir -p "$tree/$ARCH_LIB/dri" "$tree/fallback/lib" "$tree/usr/bin"
  cp -a "$st/usr/bin/Xvfb" "$st/usr/bin/xkbcomp" "$tree/usr/bin/"
  cp -a "$st/$ARCH_LIB/dri/swrast_dri.so" "$tree/$ARCH_LIB/dri/"
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ $so =~ $SYSTEM ]] && continue
      if [[ $so =~ $STUBS ]]; then stubcons[$so]="${stubcons[$so]:-} $f"; continue; fi
      [ -n "${done_[$so]:-}" ] && continue
      done_[$so]=1
      src=$(findlib "$so") || die "$so (needed by ${f#$st/}) is in no package"
      real=$(readlink -f "$src")
      if [[ $so =~ $MAIN ]]; then dst=$tree/$ARCH_LIB; else dst=$tree/fallback/lib; fi
      cp -a "$real" "$dst/"
      [ "$(basename "$real")" = "$so" ] || ln -sf "$(basename "$real")" "$dst/$so"
      queue+=("$real")
    done
  done
  # The roots that are libraries themselves (dlopened, not NEEDED by anything).
  for so in libGLX_mesa.so.0 libGL.so.1 libGLX.so.0 libGLdispatch.so.0 libEGL.so.1 libOpenGL.so.0 libGLESv2.so.2 \
            libX11.so.6 libXext.so.6 libxcb.so.1 libXau.so.6 libXdmcp.so.6 libbsd.so.0 libmd.so.0; do
    [ -e "$tree/$ARCH_LIB/$so" ] || [ -e "$tree/fallback/lib/$so" ] && continue
    real=$(readlink -f "$(findlib $so)")
    if [[ $so =~ $MAIN ]]; then dst=$tree/$ARCH_LIB; else dst=$tree/fallback/lib; fi
    cp -a "$real" "$dst/"; [ "$(basename "$real")" = "$so" ] || ln -sf "$(basename "$real")" "$dst/$so"
  done
  # Stubs.
  for so in "${!stubcons[@]}"; do
    real=$(readlink -f "$(findlib "$so")") || die "no real $so to take the symbols from"
    c=$st/stub-$so.c; vs=$st/stub-$so.map
    node - "$real" "$so" "$c" "$vs" ${stubcons[$so]} <<'EOF'
const { execFileSync } = require('child_process'); const fs = require('fs');
const [real, soname, cfile, mapfile, ...consumers] = process.argv.slice(2);
const nm = (args) => execFileSync('nm', ['-D', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n').filter(Boolean);
const defs = new Map(); // name -> {type, version}
for (const l of nm(['--defined-only', real])) {
  const m = l.match(/^\S+\s+(\S)\s+([^@\s]+)(@@?(\S+))?$/); if (m) defs.set(m[2], { type: m[1], version: m[4] ?? null });
}
const want = new Map();
for (const c of consumers) for (const l of nm(['--undefined-only', c])) {
  const m = l.match(/^\s*U\s+([^@\s]+)(@(\S+))?$/); if (m && defs.has(m[1])) want.set(m[1], m[3] ?? null);
}
let src = '#include <stdio.h>\n#include <stdlib.h>\n' +
  `static void devbundle_stub_die(const char *n) { fprintf(stderr, "devbundle stub ${soname}: %s called\\n", n); abort(); }\n`;
const byVer = new Map(); let i = 0;
for (const [name, ver] of want) {
  const t = defs.get(name).type;
  if (/[TtWiI]/.test(t)) src += `void s${i}(void) __asm__("${name}");\nvoid s${i}(void) { devbundle_stub_die("${name}"); }\n`;
  else src += `void *s${i} __asm__("${name}") = 0;\n`;
  i++;
  const v = ver ?? '';
  if (!byVer.has(v)) byVer.set(v, []); byVer.get(v).push(name);
}
// Version nodes in the order they appear in the real library's version definitions.
let map = ''; let prev = null;
const vers = [...byVer.keys()].filter(Boolean);
const order = execFileSync('readelf', ['-V', '--wide', real], { encoding: 'utf8' }).match(/Name: (\S+)/g)?.map((s) => s.slice(6)) ?? [];
vers.sort((a, b) => order.indexOf(a) - order.indexOf(b));
if (byVer.has('')) map += `{ global: ${byVer.get('').join('; ')}; local: *; };\n`;
for (const v of vers) { map += `${v} { global: ${byVer.get(v).join('; ')}; ${prev ? '' : 'local: *; '}} ${prev ?? ''};\n`; prev = v; }
fs.writeFileSync(cfile, src); fs.writeFileSync(mapfile, map);
console.error(`[pack] stub ${soname}: ${want.size} symbols for ${consumers.map((c) => c.split('/').pop()).join(', ')}`);
EOF
    gcc -shared -fPIC -O1 -s -o "$tree/fallback/lib/$so" -Wl,-soname,"$so" -Wl,--version-script="$vs" "$c"
  done
  # Data: keymaps (xkb-data), the X server's protocol names, Mesa's driconf defaults, glvnd dirs.
  mkdir -p "$tree/usr/share/X11" "$tree/usr/lib/xorg"
  cp -a "$st/usr/share/X11/xkb" "$tree/usr/share/X11/"
  [ -f "$st/usr/lib/xorg/protocol.txt" ] && cp -a "$st/usr/lib/xorg/protocol.txt" "$tree/usr/lib/xorg/"
  [ -d "$st/usr/share/drirc.d" ] && mkdir -p "$tree/usr/share" && cp -a "$st/usr/share/drirc.d" "$tree/usr/share/"
  [ -d "$st/usr/share/glvnd" ] && cp -a "$st/usr/share/glvnd" "$tree/usr/share/"
  # The pbuffer shim (run.sh uses it when the NVIDIA GLX library loads but gives no context).
  mkdir -p "$tree/shim"
  gcc -shared -fPIC -O2 -s -o "$tree/shim/libGL.so.1" -Wl,-soname,libGL.so.1 "$ROOT/scripts/device/pbuffer-shim.c" -lX11 -ldl -lpthread \
    || { say "WARNING: the pbuffer shim did not build (libx11-dev, libgl-dev?): left out"; rm -rf "$tree/shim"; }
  # Xvfb runs the keymap compiler as "/usr/bin/xkbcomp" (compiled in; -xkbdir moves only the
  # keymaps): point it at /tmp/.xb, which run.sh links to the unpacked usr/bin.
  node -e '
    const fs = require("fs"); const f = process.argv[1]; const b = fs.readFileSync(f);
    const from = Buffer.from("\0/usr/bin\0"), to = Buffer.from("\0/tmp/.xb\0");
    const i = b.indexOf(from); if (i < 0 || b.indexOf(from, i + 1) >= 0) { console.error("Xvfb: expected exactly one /usr/bin string"); process.exit(1); }
    to.copy(b, i); fs.writeFileSync(f, b);' "$tree/usr/bin/Xvfb"
  # Manifest: source packages, and the newest glibc / libstdc++ symbol versions required.
  {
    echo "# devbundle xroot: file-level closure of these Debian $(cut -d. -f1 /etc/debian_version 2>/dev/null) packages"
    for f in "${debs[@]}"; do echo "$(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version)"; done
    echo "# stubs: ${!stubcons[*]}"
    echo "# needs from the remote: $(find "$tree" -type f \( -name '*.so*' -o -path '*/bin/*' \) -exec readelf -V --wide {} + 2>/dev/null \
      | grep -o 'Name: \(GLIBC\|GLIBCXX\|CXXABI\)_[0-9.]*' | cut -c7- | sort -t_ -k1,1 -k2V -u \
      | awk -F_ '{m[$1]=$0} END {for (k in m) printf "%s ", m[k]}')"
  } > "$tree/MANIFEST"
  mkdeb "$tree" "$xrootdeb.tmp" devbundle-xroot "$XZ_EXE"
  mv "$xrootdeb.tmp" "$xrootdeb"
  rm -rf "$st" "$tree"
fi
cp "$xrootdeb" "$OUT/xroot.deb"
cp "$ROOT/scripts/device/README.md" "$OUT/README.md" 2>/dev/null || true

# ---------------------------------------------------------------- sizes
mib() { awk -v b="$1" 'BEGIN { printf "%6.2f MiB", b / 1048576 }'; }
bytes() { du -sb "$1" | cut -f1; }
say "size breakdown (.devbundle):"
printf '  %s  app/*.mjs (bundles)\n' "$(mib "$(bytes "$OUT/app")")" >&2
printf '  %s  modules.deb (gpu.js, gl + webgl.node, deps: %s unpacked, xz)\n' "$(mib "$(bytes "$OUT/modules.deb")")" "$(mib "$modbytes" | tr -s ' ')" >&2
printf '  %s  node.deb (node %s, stripped, xz)\n' "$(mib "$(bytes "$OUT/node.deb")")" "$("$NODE_BIN" -v)" >&2
printf '  %s  xroot.deb (Xvfb, xkb, X libs, glvnd, Mesa swrast + libLLVM-15, xz)\n' "$(mib "$(bytes "$OUT/xroot.deb")")" >&2
total=$(bytes "$OUT")
printf '  %s  total\n' "$(mib "$total")" >&2
dpkg-deb --fsys-tarfile "$OUT/xroot.deb" | tar -tvf - | awk '{s+=$3} END {printf "  (xroot unpacked: %.1f MiB)\n", s/1048576}' >&2
[ "$total" -le $(( MAX_MIB * 1048576 )) ] || say "WARNING: the bundle exceeds ${MAX_MIB} MiB"
say "done: carry [\".devbundle\"], run: bash scripts/device/run.sh node .devbundle/app/<entry>.mjs"
