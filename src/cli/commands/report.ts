/** `contrastlab report`: one self-contained HTML page from a run, check or diagnose output folder. */
import { ConfigError } from '../../core/errors.ts';
import { writeReport } from '../../report/html.ts';
import { parseFlags, stringFlag } from '../args.ts';
import type { CommandIO } from '../io.ts';

export const REPORT_HELP = `contrastlab report DIR [--out FILE] [--force]

Turns the output folder of \`contrastlab run --out DIR\` (final.json, summary.md, figures, ...), of
\`contrastlab check --out DIR\` (report.json, figures) or of \`contrastlab diagnose --out DIR\`
(diagnose.json, figures) into one self-contained HTML page: figures
embedded as images scaled to the page width, the verdict table or the summary tables (arms that form
a grid, such as cho-grid's (N, d) x method, also as a grid of mean ± sd), the configuration and the
environment. TeX between dollar signs in claim statements and summary.md notes ($\\sum_i x_i$) is
shown as MathML, made offline.
The page loads nothing from the network or from other files. Only regular files inside DIR are read,
each up to a size cap; links leaving DIR, FIFOs, devices and oversized optional files are skipped and
listed on the page (for final.json / report.json they are an error). Prints {"kind", "out",
"figures", "bytes"}.

  DIR                  a run, check or diagnose output folder
  --out FILE           where to write the page (default DIR/report.html; must not exist unless --force)
  --force              replace FILE if it exists`;

export function reportCommand(argv: string[], io: CommandIO): number {
  const cmd = 'report';
  const { flags, positionals } = parseFlags(cmd, argv, {
    out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, true);
  if (flags.help) {
    io.out(REPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new ConfigError('contrastlab report', `give exactly one folder, got ${positionals.length} (see contrastlab report --help)`);
  const out = stringFlag(flags, 'out');
  if (out === '') throw new ConfigError('contrastlab report', '--out must not be empty');
  const page = writeReport(positionals[0]!, { op: 'contrastlab report', overwrite: flags.force === true, ...(out !== undefined ? { out } : {}) });
  io.out(JSON.stringify({ kind: page.kind, out: page.path, figures: page.figures.length, bytes: page.bytes }));
  return 0;
}
