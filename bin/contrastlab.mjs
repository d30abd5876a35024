#!/usr/bin/env node
// The contrastlab CLI: runs the compiled library (npm run build, done by `npm ci` / `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('contrastlab: the compiled library is missing (dist/); run `npm run build` first\n');
  process.exit(70);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
