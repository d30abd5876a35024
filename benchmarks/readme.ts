/**
 * The one writer of benchmarks/README.md sections: each benchmark owns the text between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->` and replaces only that (atomically, other sections
 * kept). A section not yet there is appended at the end, under `## heading` when one is given.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const README = join(dirname(fileURLToPath(import.meta.url)), 'README.md');

export function writeReadmeSection(name: string, md: string, heading?: string, path = README): void {
  const START = `<!-- ${name}:start -->`;
  const END = `<!-- ${name}:end -->`;
  const block = `${START}\n${md.trimEnd()}\n${END}`;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const i = old.indexOf(START);
  const j = old.indexOf(END);
  const next = i >= 0 && j > i
    ? old.slice(0, i) + block + old.slice(j + END.length)
    : `${old.replace(/\n*$/, '\n')}\n${heading ? `## ${heading}\n\n` : ''}${block}\n`;
  const tmp = `${path}.${name}-${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, path);
  console.error(`wrote the ${name} section of ${path}`);
}
