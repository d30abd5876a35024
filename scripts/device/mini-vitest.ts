/**
 * A minimal stand-in for `vitest` and `@fast-check/vitest` (describe / it / expect / vi and
 * test.prop over the real fast-check), aliased in by pack.sh so tests/backend/contract.ts runs
 * unchanged on a machine without vitest. `runCollected()` runs what was collected, in order, and
 * prints one line per test and a final "N passed, N failed".
 */
import fc from 'fast-check';

export { fc };

interface Case { name: string; fn: () => unknown }
const cases: Case[] = [];
const stack: string[] = [];

export function describe(name: string, body: () => void): void {
  stack.push(name);
  try {
    body();
  } finally {
    stack.pop();
  }
}

export function it(name: string, fn: () => unknown): void {
  cases.push({ name: [...stack, name].join(' > '), fn });
}
it.skip = (name: string, _fn?: () => unknown) => cases.push({ name: `${[...stack, name].join(' > ')} (skipped)`, fn: () => undefined });

export const test = {
  prop: (arbs: fc.Arbitrary<unknown>[], params: { seed?: number; numRuns?: number } = {}) => (name: string, fn: (...xs: never[]) => unknown) =>
    it(name, () => fc.assert(fc.property(fc.tuple(...arbs), (xs) => { (fn as (...a: unknown[]) => unknown)(...xs); }), params)),
};

export const vi = { setConfig: (_c: unknown) => undefined };

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b) || a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function expect(actual: unknown, label?: string) {
  const fail = (what: string, expected?: unknown) => {
    throw new Error(`${label ? `${label}: ` : ''}expected ${String(actual)} ${what}${expected === undefined ? '' : ` ${String(expected)}`}`);
  };
  const m = (neg: boolean) => {
    const check = (ok: boolean, what: string, e?: unknown) => { if (ok === neg) fail(`${neg ? 'not ' : ''}${what}`, e); };
    return {
      toBe: (e: unknown) => check(Object.is(actual, e), 'to be', e),
      toEqual: (e: unknown) => check(deepEqual(actual, e), 'to equal', JSON.stringify(e)),
      toBeNull: () => check(actual === null, 'to be null'),
      toBeCloseTo: (e: number, digits = 2) => check(Math.abs((actual as number) - e) < 10 ** -digits / 2, `to be close to (${digits} digits)`, e),
      toBeGreaterThan: (e: number) => check((actual as number) > e, 'to be >', e),
      toBeLessThan: (e: number) => check((actual as number) < e, 'to be <', e),
      toBeLessThanOrEqual: (e: number) => check((actual as number) <= e, 'to be <=', e),
      toMatch: (e: RegExp | string) => check(typeof e === 'string' ? String(actual).includes(e) : e.test(String(actual)), 'to match', e),
      toThrow: (e?: RegExp | (new (...a: never[]) => Error)) => {
        let thrown: unknown = null;
        try { (actual as () => unknown)(); } catch (x) { thrown = x; }
        const ok = thrown !== null && (e === undefined || (e instanceof RegExp ? e.test(String((thrown as Error).message)) : thrown instanceof e));
        check(ok, 'to throw', e);
      },
    };
  };
  return { ...m(false), not: m(true) };
}

/** Runs every collected test in order; returns [passed, failed]. */
export async function runCollected(log: (line: string) => void = (l) => console.log(l)): Promise<[number, number]> {
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const t0 = performance.now();
    try {
      await c.fn();
      passed++;
      log(`✓ ${c.name} (${(performance.now() - t0).toFixed(0)} ms)`);
    } catch (e) {
      failed++;
      log(`× ${c.name}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
    }
  }
  log(`${passed} passed, ${failed} failed`);
  return [passed, failed];
}
