/**
 * SVG sanitiser for inlining figures into an HTML page. The input is re-serialised through a strict
 * allowlist (drawing elements and presentation attributes; references only to `#fragment`s); any
 * element, attribute or construct outside it (scripts, event handlers, foreignObject, style, external
 * URLs, DOCTYPE/entities, CDATA) makes the whole figure non-inlinable, and the caller embeds it as an
 * `<img>` data URI instead, where browsers run no script and load nothing. Ids are prefixed per figure
 * so that two figures (Vega names every gradient `gradient_0`) do not resolve each other's references.
 */

const ELEMENTS = new Set([
  'svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan', 'title', 'desc',
  'defs', 'linearGradient', 'radialGradient', 'stop', 'clipPath', 'mask', 'pattern', 'use', 'symbol', 'marker',
]);

const ATTRIBUTES = new Set([
  'xmlns', 'xmlns:xlink', 'version', 'class', 'id', 'role', 'viewBox', 'preserveAspectRatio', 'width', 'height',
  'x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'r', 'rx', 'ry', 'fx', 'fy', 'd', 'points', 'transform', 'dx', 'dy', 'rotate',
  'fill', 'fill-opacity', 'fill-rule', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'stroke-dashoffset',
  'stroke-linecap', 'stroke-linejoin', 'stroke-miterlimit', 'opacity', 'display', 'visibility', 'pointer-events', 'color',
  'font-family', 'font-size', 'font-weight', 'font-style', 'font-variant', 'text-anchor', 'dominant-baseline',
  'alignment-baseline', 'baseline-shift', 'letter-spacing', 'textLength', 'lengthAdjust', 'xml:space',
  'clip-path', 'clip-rule', 'mask', 'offset', 'stop-color', 'stop-opacity', 'gradientUnits', 'gradientTransform',
  'spreadMethod', 'patternUnits', 'patternContentUnits', 'patternTransform', 'clipPathUnits', 'maskUnits', 'maskContentUnits',
  'markerWidth', 'markerHeight', 'refX', 'refY', 'orient', 'markerUnits', 'paint-order', 'vector-effect', 'shape-rendering',
  'text-rendering', 'image-rendering', 'href', 'xlink:href',
]);

const NAMESPACES: Record<string, string> = { xmlns: 'http://www.w3.org/2000/svg', 'xmlns:xlink': 'http://www.w3.org/1999/xlink' };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes XML character references; null on an entity XML does not predefine. */
function decodeEntities(s: string): string | null {
  let bad = false;
  const out = s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) return (bad = true, m);
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return (bad = true, m);
      return String.fromCodePoint(cp);
    }
    const e = ENTITIES[ref];
    return e ?? (bad = true, m);
  });
  return bad ? null : out;
}

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string) => escText(s).replace(/"/g, '&quot;');

/** `url(...)` references must be local fragments; returns the value with ids prefixed, or null. */
function rewriteUrls(value: string, prefix: string): string | null {
  let bad = false;
  const out = value.replace(/url\(\s*(['"]?)([^)'"]*)\1\s*\)/gi, (_m, _q, target: string) => {
    if (!/^#[A-Za-z_][\w.:-]*$/.test(target)) return (bad = true, '');
    return `url(#${prefix}${target.slice(1)})`;
  });
  if (bad || /url\(|javascript:|expression\(/i.test(out.replace(/url\(#[\w.:-]+\)/g, ''))) return null;
  return out;
}

/**
 * Returns the SVG re-serialised with ids prefixed by `prefix`, or null when it contains anything
 * outside the allowlist (the caller then embeds it as an image).
 */
export function sanitizeSvg(src: string, prefix: string): string | null {
  const out: string[] = [];
  const stack: string[] = [];
  let rootSeen = false;
  let i = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = src.length;
  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      if (stack.length === 0) {
        if (raw.trim() !== '') return null; // text outside the root element
      } else {
        const t = decodeEntities(raw);
        if (t === null) return null;
        out.push(escText(t));
      }
      i = textEnd;
      continue;
    }
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      if (end < 0) return null;
      i = end + 3;
      continue;
    }
    if (src.startsWith('<?', i)) {
      // The XML declaration (or a processing instruction) before the root is dropped.
      if (rootSeen) return null;
      const end = src.indexOf('?>', i + 2);
      if (end < 0) return null;
      i = end + 2;
      continue;
    }
    if (src.startsWith('<!', i)) return null; // DOCTYPE (entities), CDATA
    if (src.startsWith('</', i)) {
      const m = /^<\/([A-Za-z][\w:.-]*)\s*>/.exec(src.slice(i, i + 200));
      if (!m || stack.pop() !== m[1]) return null;
      out.push(`</${m[1]}>`);
      i += m[0].length;
      continue;
    }
    const m = /^<([A-Za-z][\w:.-]*)/.exec(src.slice(i, i + 200));
    if (!m) return null;
    const name = m[1]!;
    if (!ELEMENTS.has(name)) return null;
    if (stack.length === 0) {
      if (rootSeen || name !== 'svg') return null;
      rootSeen = true;
    }
    i += m[0].length;
    const attrs: string[] = [];
    const seen = new Set<string>();
    const attrRe = /\s+([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
    const endRe = /\s*(\/?)>/y;
    for (;;) {
      endRe.lastIndex = i;
      const e = endRe.exec(src);
      if (e) {
        i = endRe.lastIndex;
        out.push(`<${name}${attrs.join('')}${e[1] ? '/>' : '>'}`);
        if (!e[1]) stack.push(name);
        break;
      }
      attrRe.lastIndex = i;
      const a = attrRe.exec(src);
      if (!a) return null;
      i = attrRe.lastIndex;
      const key = a[1]!;
      if (seen.has(key)) return null;
      seen.add(key);
      if (!ATTRIBUTES.has(key) && !/^aria-[a-z]+$/.test(key)) return null;
      let value = decodeEntities(a[2] ?? a[3] ?? '');
      if (value === null) return null;
      if (key in NAMESPACES) {
        if (value !== NAMESPACES[key]) return null;
      } else if (key === 'id') {
        if (!/^[A-Za-z_][\w.:-]*$/.test(value)) return null;
        value = prefix + value;
      } else if (key === 'href' || key === 'xlink:href') {
        if (!/^#[A-Za-z_][\w.:-]*$/.test(value)) return null;
        value = `#${prefix}${value.slice(1)}`;
      } else {
        const v = rewriteUrls(value, prefix);
        if (v === null) return null;
        value = v;
      }
      attrs.push(` ${key}="${escAttr(value)}"`);
    }
  }
  if (!rootSeen || stack.length !== 0) return null;
  return out.join('');
}
