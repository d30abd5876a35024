/** Trace serialisation: CSV (a header of the union of keys, in first-seen order) and JSON lines. */
export function traceToCsv(rows: ReadonlyArray<Record<string, unknown>>): string {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'number' ? String(v) : JSON.stringify(String(v)));
  return [keys.join(','), ...rows.map((r) => keys.map((k) => cell(r[k])).join(','))].join('\n') + '\n';
}

export function traceToJsonl(rows: ReadonlyArray<Record<string, unknown>>): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
