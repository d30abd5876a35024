/**
 * Vitest global setup: builds the CPU backend's WebAssembly (src/backend/cpu/wasm/kernels.generated.ts,
 * gitignored) when it is missing or older than its AssemblyScript sources, so `npx vitest run`
 * works on a fresh clone after `npm ci`.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(root, 'scripts/build-wasm.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
}
