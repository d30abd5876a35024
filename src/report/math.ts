/**
 * Formulas on the report page: TeX between dollar signs, rendered offline to MathML by temml
 * (MathML only: nothing to load, no fonts, no script; Chromium and Firefox draw MathML natively).
 *
 * Convention, in claim statements, assumptions, summaries and summary.md notes:
 *   - `$...$` is inline TeX and `$$...$$` display TeX;
 *   - an opening `$` must be followed, and a closing `$` preceded, by a non-space, and a closing `$`
 *     must not be followed by a digit (so "costs $5 and $6" stays text); `\$` is a literal dollar.
 * Text outside the delimiters is left to the caller's `plain` (which escapes it). A formula temml
 * cannot parse is shown as escaped text with the class `tex-error`, never as markup. temml runs with
 * `trust: false` (no \href, \url, \html...), its `style` attributes (colours, error boxes) are
 * dropped so the page's strict Content-Security-Policy has nothing to refuse, and output with
 * anything but MathML elements and plain attributes is refused as a second line of defence.
 */
import temml from 'temml';

/** The longest formula rendered (longer ones are shown as text). */
const MAX_TEX = 4000;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The MathML elements temml writes; anything else in its output makes the formula fall back to text. */
const MATHML = new Set(['math', 'semantics', 'annotation', 'mrow', 'mi', 'mn', 'mo', 'ms', 'mtext', 'mspace', 'msub', 'msup', 'msubsup',
  'munder', 'mover', 'munderover', 'mfrac', 'msqrt', 'mroot', 'mstyle', 'mpadded', 'mphantom', 'menclose', 'mtable', 'mtr', 'mtd',
  'mlabeledtr', 'merror', 'mmultiscripts', 'mprescripts', 'none', 'maction']);

function safeMathml(html: string): boolean {
  for (const m of html.matchAll(/<\/?([A-Za-z][\w:-]*)([^>]*)>/g)) {
    if (!MATHML.has(m[1]!.toLowerCase())) return false;
    // Attributes: only name="value" pairs with plain names, no event handlers or links.
    const attrs = m[2]!.replace(/\/$/, '');
    if (!/^(\s+[a-z][\w-]*="[^"<>]*")*\s*$/i.test(attrs)) return false;
    if (/\s(on\w+|href|src|xlink:href|style)=/i.test(attrs)) return false;
  }
  return true;
}

/** `tex` as MathML (`display` for a block), or escaped `$tex$` in a `tex-error` span when it cannot be rendered. */
export function texToMathml(tex: string, display = false): string {
  const fallback = () => `<code class="tex-error" title="TeX that could not be rendered">${escape(display ? `$$${tex}$$` : `$${tex}$`)}</code>`;
  if (tex.length > MAX_TEX) return fallback();
  let out: string;
  try {
    out = temml.renderToString(tex, { displayMode: display, throwOnError: true, trust: false, xml: false });
  } catch {
    return fallback();
  }
  out = out.replace(/\s+style="[^"]*"/g, '');
  if (!safeMathml(out)) return fallback();
  return display ? out : out.replace(/^<math\b/, '<math class="tex"');
}

/** Whether `s` holds a `$...$` formula under the convention above. */
export function hasMath(s: string): boolean {
  return splitMath(s).some((p) => p.math !== undefined);
}

interface Part { text: string; math?: { tex: string; display: boolean } }

/** `s` cut into text and formula parts (see the convention above); `\$` in text becomes `$`. */
export function splitMath(s: string): Part[] {
  const parts: Part[] = [];
  let buf = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && s[i + 1] === '$') {
      buf += '$';
      i += 2;
      continue;
    }
    if (c === '$') {
      const display = s[i + 1] === '$';
      const open = display ? 2 : 1;
      const end = findClose(s, i + open, display);
      if (end !== -1) {
        if (buf) parts.push({ text: buf });
        buf = '';
        parts.push({ text: s.slice(i, end + open), math: { tex: s.slice(i + open, end), display } });
        i = end + open;
        continue;
      }
    }
    buf += c;
    i++;
  }
  if (buf) parts.push({ text: buf });
  return parts;
}

function findClose(s: string, from: number, display: boolean): number {
  if (from >= s.length || /\s/.test(s[from]!)) return -1;
  for (let j = from; j < s.length; j++) {
    if (s[j] === '\\') {
      j++;
      continue;
    }
    if (s[j] === '\n' && !display && s[j + 1] === '\n') return -1;
    if (s[j] !== '$') continue;
    if (display) return s[j + 1] === '$' && j > from ? j : -1;
    if (j === from || /\s/.test(s[j - 1]!) || /\d/.test(s[j + 1] ?? '')) return -1;
    return j;
  }
  return -1;
}

/** `s` as HTML: formulas as MathML, the text between them through `plain` (which must escape it). */
export function mathText(s: string, plain: (text: string) => string = escape): string {
  return splitMath(s).map((p) => (p.math ? texToMathml(p.math.tex, p.math.display) : plain(p.text))).join('');
}
