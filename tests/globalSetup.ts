/**
 * Vitest global setup:
 *  - builds the CPU backend's WebAssembly (src/backend/cpu/wasm/kernels.generated.ts, gitignored)
 *    when it is missing or older than its AssemblyScript sources, so `npx vitest run` works on a
 *    fresh clone after `npm ci`;
 *  - starts a private Xvfb server when DISPLAY is unset and Xvfb is installed, so the gpujs backend
 *    suite runs gpu.js's WebGL path (headless-gl needs an X display) under a plain `npm test`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

async function startXvfb(): Promise<(() => void) | undefined> {
  if (process.env.DISPLAY || spawnSync('sh', ['-c', 'command -v Xvfb'], { stdio: 'ignore' }).status !== 0) return undefined;
  // -displayfd: Xvfb picks a free display number and writes it to fd 1 once it accepts connections.
  // Xvfb runs under a small sh guard that stops it when the teardown signals the guard, when Xvfb
  // exits, or within a second of this process disappearing (a test run killed with SIGKILL, or by a
  // mutation tester, runs no teardown; the server must not outlive it).
  const guard = 'Xvfb -displayfd 1 -screen 0 1024x768x24 -nolisten tcp & x=$!; trap \'kill $x 2>/dev/null; exit 0\' TERM INT; '
    + 'while kill -0 "$1" 2>/dev/null && kill -0 $x 2>/dev/null; do sleep 1 & wait $!; done; kill $x 2>/dev/null';
  const x = spawn('sh', ['-c', guard, 'xvfb-guard', String(process.pid)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const display = await new Promise<string | null>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve(null), 10_000);
    x.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf.trim());
      }
    });
    x.on('exit', () => resolve(null));
  });
  if (display === null) {
    x.kill();
    return undefined;
  }
  process.env.DISPLAY = `:${display}`;
  return () => {
    x.kill();
  };
}

export default async function setup(): Promise<(() => void) | undefined> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(root, 'scripts/build-wasm.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  return startXvfb();
}
