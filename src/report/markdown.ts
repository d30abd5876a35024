/**
 * The small Markdown subset that summary.md uses (headings, paragraphs, pipe tables, `code`,
 * **bold**, *emphasis*, `$TeX$` formulas as MathML — see ./math.ts) rendered to HTML. All text is
 * escaped first; raw HTML in the input is shown as text, never interpreted.
 */
import { mathText } from './math.ts';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Inline markup on one line of text: code spans first, then formulas, then bold and emphasis in the text between. */
export function inlineMarkdown(s: string): string {
  return s.split(/(`[^`]+`)/).map((part) => {
    if (part.length > 1 && part.startsWith('`') && part.endsWith('`')) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
    return mathText(part, (t) => escapeHtml(t)
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|[^\w*])\*([^*\s][^*]*?)\*(?![\w*])/g, '$1<em>$2</em>'));
  }).join('');
}

function splitRow(line: string): string[] {
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return body.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const isSeparator = (line: string) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);

/**
 * Renders `md`; headings are shifted down by `headingShift` levels (capped at h6). With
 * `collapseTablesOver`, a table of more body rows than that is put in a closed <details>.
 */
export function markdownToHtml(md: string, headingShift = 2, opts: { collapseTablesOver?: number } = {}): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${para.map(inlineMarkdown).join('\n')}</p>`);
    para = [];
  };
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const level = Math.min(6, h[1]!.length + headingShift);
      out.push(`<h${level}>${inlineMarkdown(h[2]!.trim())}</h${level}>`);
    } else if (line.trim().startsWith('|') && k + 1 < lines.length && isSeparator(lines[k + 1]!)) {
      flush();
      const head = splitRow(line);
      const rows: string[][] = [];
      k += 2;
      while (k < lines.length && lines[k]!.trim().startsWith('|')) rows.push(splitRow(lines[k++]!));
      k--;
      const collapse = opts.collapseTablesOver !== undefined && rows.length > opts.collapseTablesOver;
      if (collapse) out.push(`<details class="long-table"><summary>Table of ${rows.length} rows: ${head.map(escapeHtml).join(', ')}</summary>`);
      out.push('<table class="data">',
        `<thead><tr>${head.map((c) => `<th>${inlineMarkdown(c)}</th>`).join('')}</tr></thead>`,
        `<tbody>${rows.map((r) => `<tr>${head.map((_c, j) => `<td>${inlineMarkdown(r[j] ?? '')}</td>`).join('')}</tr>`).join('\n')}</tbody>`,
        '</table>');
      if (collapse) out.push('</details>');
    } else if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  return out.join('\n');
}
