/** Trace serialisation: CSV (a header of the union of keys, in first-seen order) and JSON lines. */
export function traceToCsv<T extends object>(records: ReadonlyArray<T>): string {
  const rows = records as ReadonlyArray<Record<string, unknown>>;
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'number' ? String(v) : JSON.stringify(String(v)));
  return [keys.join(','), ...rows.map((r) => keys.map((k) => cell(r[k])).join(','))].join('\n') + '\n';
}

export function traceToJsonl<T extends object>(rows: ReadonlyArray<T>): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
