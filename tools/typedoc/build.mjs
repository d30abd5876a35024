// Generates the API reference (Markdown, docs/api/) from the doc comments of contrastlab's public
// entry points with typedoc. Run from anywhere: `npm run docs:api` in the root (installs this
// folder's pinned typedoc + TypeScript 6 first), or `node tools/typedoc/build.mjs`.
//
// Missing doc comments are reported as information (a count and a sample); any typedoc error
// (a missing or broken entry point, a source that does not compile) fails the run (exit 1).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, Comment, LogLevel, ReflectionKind } from 'typedoc';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'docs', 'api');
const verbose = process.argv.includes('--verbose');

// Entry point file -> the package specifier it is published as (package.json "exports").
const ENTRY_POINTS = {
  'src/index.ts': 'contrastlab',
  'src/plot.ts': 'contrastlab/plot',
  'src/gpujs.ts': 'contrastlab/gpujs',
  'src/claims.ts': 'contrastlab/claims',
};

const started = process.hrtime.bigint();
const fail = (msg) => {
  console.error(`docs:api: ${msg}`);
  process.exit(1);
};

for (const file of Object.keys(ENTRY_POINTS)) {
  if (!existsSync(join(root, file))) fail(`entry point ${file} does not exist`);
}
if (!existsSync(join(root, 'node_modules', 'typescript'))) {
  fail('the root node_modules is missing (the sources import its types): run `npm ci` in the root first');
}
if (!existsSync(join(root, 'src/backend/cpu/wasm/kernels.generated.ts'))) {
  fail('src/backend/cpu/wasm/kernels.generated.ts is missing: run `npm run build:wasm` in the root first');
}

// Warnings about undocumented exports are information: collect them, print a summary.
const notDocumented = [];
const notExported = [];
let warnings = 0;

const app = await Application.bootstrapWithPlugins({
  entryPoints: Object.keys(ENTRY_POINTS).map((f) => join(root, f)),
  tsconfig: join(here, 'tsconfig.json'),
  plugin: ['typedoc-plugin-markdown'],
  out,
  name: 'contrastlab API',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  excludeExternals: true,
  // Source locations as plain "Defined in: src/x.ts:N" text: the repository has no remote to link to,
  // and links pinned to a commit would change every page at every regeneration.
  // (disableGit needs a template; the links it makes are removed after the conversion, below.)
  disableGit: true,
  sourceLinkTemplate: '{path}#L{line}',
  basePath: root,
  sort: ['kind', 'alphabetical'],
  validation: { notExported: true, invalidLink: true, notDocumented: true, rewrittenLink: true, unusedMergeModuleWith: true },
  // Undocumented members (properties, methods) are left out of the count: it lists the exports themselves.
  requiredToBeDocumented: ['Function', 'Class', 'Interface', 'TypeAlias', 'Variable', 'Enum'],
  treatWarningsAsErrors: false,
  logLevel: LogLevel.Info,
  // typedoc-plugin-markdown
  entryFileName: 'README.md',
  outputFileStrategy: 'modules',
  hidePageHeader: true,
  useCodeBlocks: true,
  parametersFormat: 'table',
  interfacePropertiesFormat: 'table',
  classPropertiesFormat: 'table',
  typeDeclarationFormat: 'table',
  enumMembersFormat: 'table',
  sanitizeComments: true,
});

const log = app.logger;
const origLog = log.log.bind(log);
log.log = (message, level, ...rest) => {
  if (level === LogLevel.Warn) {
    warnings++;
    const text = String(message);
    if (/does not have any documentation/.test(text)) notDocumented.push(text);
    else if (/but not included in the documentation/.test(text)) notExported.push(text);
    if (!verbose && /does not have any documentation|but not included in the documentation/.test(text)) return;
  }
  return origLog(message, level, ...rest);
};

const project = await app.convert();
if (!project || log.hasErrors()) fail('typedoc could not convert the entry points (see the errors above)');

// Name the modules by their package specifiers, and use each entry file's leading doc comment as the
// module's comment when typedoc did not take it (it only does with a @module / @packageDocumentation tag).
for (const mod of project.getChildrenByKind(ReflectionKind.Module)) {
  const file = mod.sources?.[0]?.fullFileName;
  const rel = file ? relative(root, file).split('\\').join('/') : undefined;
  const spec = rel && ENTRY_POINTS[rel];
  if (!spec) continue;
  mod.name = spec;
  if (!mod.comment || mod.comment.summary.length === 0) {
    const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
    if (m) {
      const text = m[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
      mod.comment = new Comment([{ kind: 'code', text: '```text\n' + text + '\n```' }]);
    }
  }
}

for (const r of Object.values(project.reflections)) {
  for (const s of r.sources ?? []) delete s.url;
}

app.validate(project);
if (log.hasErrors()) fail('typedoc validation reported errors (see above)');

rmSync(out, { recursive: true, force: true });
await app.generateOutputs(project);
if (log.hasErrors()) fail('typedoc could not write the output (see the errors above)');

const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const summary = (list, what) => {
  if (list.length === 0) return;
  console.log(`docs:api: ${list.length} ${what} (information; --verbose lists them all), e.g.:`);
  for (const m of list.slice(0, 8)) console.log(`  ${m.replace(/\x1b\[[0-9;]*m/g, '')}`);
};
summary(notDocumented, 'exports have no doc comment');
summary(notExported, 'types are used by the public API but not exported from an entry point');
console.log(`docs:api: wrote ${relative(root, out)}/ in ${seconds.toFixed(1)} s (${warnings} warnings, 0 errors)`);
