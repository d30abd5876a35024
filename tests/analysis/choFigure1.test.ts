/**
 * CHO Figure 1 computations: the rotation slice (Fig. 1(a)) against a hand-rotated evaluation, its
 * symmetry and common minimum at the regular polygon; the end points (Fig. 1(b)): full batch and all
 * C(4,2) batches at the simplex ETF, a fixed partition at antipodal batch pairs above the ETF value.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, DomainError } from '../../src/core/errors.ts';
import { fromRows, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { evaluateObjective, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { etfGram, simplexEtf } from '../../src/optima/etf.ts';
import { gramMatrix, lossAlongRotation, minimiserEndPoints, regularPolygon } from '../../src/analysis/choFigure1.ts';

const FULL: ObjectiveSpec = { name: 'infonce', tau: 1 };
const ALL2: ObjectiveSpec = { name: 'minibatch', tau: 1, batches: { kind: 'all', B: 2 } };
const OBJECTIVES = [{ label: 'full', spec: FULL }, { label: 'all', spec: ALL2 }];

describe('regularPolygon and gramMatrix', () => {
  it('gives unit rows at angles 2πi/N, Gram entries cos(2π(i−j)/N)', () => {
    const P = regularPolygon(7, 3);
    expect([P.rows, P.cols]).toEqual([7, 3]);
    const G = gramMatrix(P, P);
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) expect(G.data[i * 7 + j]).toBeCloseTo(Math.cos((2 * Math.PI * (i - j)) / 7), 14);
    expect(() => regularPolygon(4, 1)).toThrow(DomainError);
  });

  it('is U Vᵀ: the simplex ETF gives the ETF Gram matrix', () => {
    const E = simplexEtf(5, 6, { rng: Rng.fromSeed(3) });
    const G = gramMatrix(E, E);
    const want = etfGram(5);
    for (let k = 0; k < 25; k++) expect(G.data[k]).toBeCloseTo(want.data[k]!, 13);
    expect(() => gramMatrix(E, regularPolygon(5))).toThrow(ConfigError);
  });
});

describe('lossAlongRotation (CHO Fig. 1(a))', () => {
  const P = regularPolygon(10);

  it('matches a hand-rotated evaluation, and change is relative to angle 0', () => {
    const rows = lossAlongRotation({ U: P, row: 3, anglesDeg: [0, 40], objectives: OBJECTIVES });
    expect(rows.map((r) => [r.angleDeg, r.objective])).toEqual([[0, 'full'], [0, 'all'], [40, 'full'], [40, 'all']]);
    const t = (40 * Math.PI) / 180;
    const rot = Array.from({ length: 10 }, (_, i) => [P.data[2 * i]!, P.data[2 * i + 1]!]);
    const [a, b] = rot[3]!;
    rot[3] = [Math.cos(t) * a - Math.sin(t) * b, Math.sin(t) * a + Math.cos(t) * b];
    const R = fromRows(rot) as Matrix64;
    for (const [k, spec] of [FULL, ALL2].entries()) {
      const base = evaluateObjective(spec, P, P, { grad: false }).value;
      expect(rows[k]!.change).toBe(0);
      expect(rows[k]!.value).toBeCloseTo(base, 14);
      expect(rows[2 + k]!.value).toBeCloseTo(evaluateObjective(spec, R, R, { grad: false }).value, 13);
      expect(rows[2 + k]!.change).toBeCloseTo(rows[2 + k]!.value - base, 14);
    }
  });

  it('at the regular 10-gon: symmetric in the angle, both objectives lowest at 0 (the common stationary point)', () => {
    const rows = lossAlongRotation({ U: P, anglesDeg: { from: -180, to: 180, count: 73 }, objectives: OBJECTIVES });
    expect(rows).toHaveLength(146);
    for (const label of ['full', 'all']) {
      const r = rows.filter((x) => x.objective === label);
      for (let k = 0; k < r.length; k++) expect(r[k]!.value).toBeCloseTo(r[r.length - 1 - k]!.value, 12);
      const min = r.reduce((p, q) => (q.value < p.value ? q : p));
      expect(min.angleDeg).toBeCloseTo(0, 12);
      for (const x of r) if (Math.abs(x.angleDeg) > 1e-9) expect(x.change).toBeGreaterThan(0);
    }
  });

  it("views 'u' rotates u only (the positive pair misaligns: larger rise than rotating the pair)", () => {
    const both = lossAlongRotation({ U: P, anglesDeg: [90], objectives: [{ label: 'full', spec: FULL }] })[0]!;
    const uOnly = lossAlongRotation({ U: P, views: 'u', anglesDeg: [90], objectives: [{ label: 'full', spec: FULL }] })[0]!;
    expect(uOnly.change).toBeGreaterThan(both.change);
  });

  it('rejects bad input', () => {
    const base = { U: P, anglesDeg: [0], objectives: OBJECTIVES };
    expect(() => lossAlongRotation({ ...base, row: 10 })).toThrow(DomainError);
    expect(() => lossAlongRotation({ ...base, plane: [1, 1] })).toThrow(DomainError);
    expect(() => lossAlongRotation({ ...base, plane: [0, 2] })).toThrow(DomainError);
    expect(() => lossAlongRotation({ ...base, objectives: [] })).toThrow(ConfigError);
    expect(() => lossAlongRotation({ ...base, anglesDeg: [] })).toThrow(ConfigError);
    expect(() => lossAlongRotation({ ...base, anglesDeg: [Number.NaN] })).toThrow(DomainError);
    expect(() => lossAlongRotation({ ...base, V: regularPolygon(9) })).toThrow(ConfigError);
  });
});

describe('minimiserEndPoints (CHO Fig. 1(b), N = 4, d = 3)', () => {
  const ends = minimiserEndPoints({
    n: 4, d: 3, seed: 0,
    arms: [
      { label: 'full', spec: FULL },
      { label: 'all', spec: ALL2 },
      { label: 'partition', spec: { name: 'minibatch', tau: 1, batches: { kind: 'list', batches: [[0, 1], [2, 3]] } } },
    ],
  });

  it('full batch and all C(4,2) batches end at the simplex ETF (Thm 4)', () => {
    for (const e of ends.slice(0, 2)) {
      expect(e.converged).toBe(true);
      expect(e.etfDistance).toBeLessThan(1e-6);
      expect(Math.abs(e.fullBatchGap)).toBeLessThan(1e-12);
    }
  });

  it('a fixed partition ends with each batch an antipodal pair and the full-batch loss above the ETF value (Thm 5)', () => {
    const p = ends[2]!;
    expect(p.converged).toBe(true);
    expect(p.gram.data[0 * 4 + 1]).toBeCloseTo(-1, 6);
    expect(p.gram.data[2 * 4 + 3]).toBeCloseTo(-1, 6);
    for (let i = 0; i < 4; i++) expect(p.gram.data[i * 5]).toBeCloseTo(1, 6);
    expect(p.fullBatchGap).toBeGreaterThan(1e-3);
    expect(p.etfDistance).toBeGreaterThan(0.1);
  });

  it('every arm starts from the same seeded point (same seed, same first arm result)', () => {
    const again = minimiserEndPoints({ n: 4, d: 3, seed: 0, arms: [{ label: 'full', spec: FULL }] })[0]!;
    expect(Array.from(again.U.data)).toEqual(Array.from(ends[0]!.U.data));
    expect(() => minimiserEndPoints({ n: 4, d: 3, seed: 0, arms: [] })).toThrow(ConfigError);
  });
});
