import { describe, expect, it } from 'vitest';
import { ConfigError, DomainError } from '../../src/core/errors.ts';
import { type EstimatorSpec, gammaAt, makeEstimator, validateEstimatorSpec } from '../../src/estimators/index.ts';
import { checkKeys, levenshtein, nearest } from '../../src/estimators/spec.ts';

const bad = (x: unknown) => () => makeEstimator(x as EstimatorSpec);

describe('EstimatorSpec validation', () => {
  it('builds every kind with its name and modality; fills defaults', () => {
    const cases: [EstimatorSpec, string, string][] = [
      [{ kind: 'simclr', tau: 0.1 }, 'simclr', 'unimodal'],
      [{ kind: 'clip', tau: 0.1 }, 'clip', 'bimodal'],
      [{ kind: 'dcl', modality: 'unimodal', tau: 0.1 }, 'dcl', 'unimodal'],
      [{ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 }, 'sogclr', 'bimodal'],
      [{ kind: 'isogclr', tau0: 0.1, tauMin: 0.05, tauMax: 1, rho: 0.1, tauLr: 0.01, gamma: 0.9 }, 'isogclr', 'unimodal'],
      [{ kind: 'fastclip-v3', tau0: 0.1, tauMin: 0.05, tauMax: 1, rho: 0.1, tauLr: 0.01, gamma: 0.9 }, 'fastclip-v3', 'bimodal'],
    ];
    for (const [spec, name, modality] of cases) {
      const e = makeEstimator(spec);
      expect(e.name).toBe(name);
      expect(e.modality).toBe(modality);
    }
    expect(validateEstimatorSpec({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 })).toEqual({
      kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, eps0: 0, sharedU: false, pitfalls: { sumStorage: false, batchFirstVisit: false },
    });
  });

  it('ConfigError for shape and type problems, naming the path and the value', () => {
    expect(bad(null)).toThrow(ConfigError);
    expect(bad({ kind: 'moco' })).toThrow(/estimator\.kind must be one of .*got "moco"/);
    expect(bad({ kind: 'simclr' })).toThrow(/estimator\.tau is required/);
    expect(bad({ kind: 'simclr', tau: 0.1, gamma: 0.9 })).toThrow(/estimator\.gamma is not a known key/);
    expect(bad({ kind: 'simclr', tau: '0.1' })).toThrow(/estimator\.tau must be a number, got "0\.1"/);
    expect(bad({ kind: 'dcl', modality: 'trimodal', tau: 0.1 })).toThrow(/estimator\.modality must be 'bimodal' or 'unimodal', got "trimodal"/);
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: { schedule: 'linear', gammaMin: 0.1, epochs: 3 } })).toThrow(/estimator\.gamma\.schedule/);
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, sharedU: 1 })).toThrow(/estimator\.sharedU must be true or false, got 1/);
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, pitfalls: { sumStorage: true } })).toThrow(/sharedU/);
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, pitfalls: { typo: true } })).toThrow(/estimator\.pitfalls\.typo/);
    expect(() => makeEstimator({ kind: 'simclr' } as EstimatorSpec, { path: 'experiment.estimator' })).toThrow(/experiment\.estimator\.tau is required/);
  });

  it('DomainError for values outside their domain', () => {
    const sog = (extra: Record<string, unknown>) => bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, ...extra });
    expect(sog({ gamma: 0 })).toThrow(DomainError);
    expect(sog({ gamma: 1.5 })).toThrow(/estimator\.gamma must be in \(0, 1\], got 1\.5/);
    expect(sog({ gamma: NaN })).toThrow(/estimator\.gamma must be finite, got NaN/);
    expect(sog({ tau: 0 })).toThrow(/estimator\.tau must be > 0, got 0/);
    expect(sog({ tau: -1 })).toThrow(DomainError);
    expect(sog({ eps0: -0.1 })).toThrow(/estimator\.eps0 must be >= 0, got -0\.1/);
    expect(sog({ gamma: { schedule: 'cosine', gammaMin: 0, epochs: 3 } })).toThrow(/gammaMin must be in \(0, 1\]/);
    expect(sog({ gamma: { schedule: 'cosine', gammaMin: 0.2, epochs: 2.5 } })).toThrow(/epochs must be an integer >= 1/);
    const iso = (extra: Record<string, unknown>) => bad({ kind: 'isogclr', tau0: 0.1, tauMin: 0.05, tauMax: 1, rho: 0.1, tauLr: 0.01, gamma: 0.9, ...extra });
    expect(iso({ tauMax: 0.01 })).toThrow(/tauMax = 0\.01 is below estimator\.tauMin = 0\.05/);
    expect(iso({ tau0: 2 })).toThrow(/tau0 = 2 is outside/);
    expect(iso({ rho: -1 })).toThrow(DomainError);
    expect(iso({ tauLr: -1 })).toThrow(DomainError);
    expect(iso({ tauMin: 0 })).toThrow(DomainError);
  });

  it('cosine γ schedule: 1 at epoch 0, γ_min from epoch E on, monotone between', () => {
    const g = { schedule: 'cosine' as const, gammaMin: 0.2, epochs: 4 };
    expect(gammaAt(g, 0)).toBe(1);
    expect(gammaAt(g, 4)).toBeCloseTo(0.2, 15);
    expect(gammaAt(g, 9)).toBeCloseTo(0.2, 15);
    expect(gammaAt(g, 2)).toBeCloseTo(0.6, 15);
    for (let e = 0; e < 4; e++) expect(gammaAt(g, e + 1)).toBeLessThan(gammaAt(g, e));
    expect(gammaAt(0.7, 3)).toBe(0.7);
  });
});

describe('the shared key check', () => {
  it('names the unknown key, its path and the nearest valid key', () => {
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gama: 0.9 })).toThrow(/estimator\.gama is not a known key; did you mean 'gamma'\?/);
    expect(bad({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, sharedu: true })).toThrow(/estimator\.sharedu is not a known key; did you mean 'sharedU'\?/);
    expect(bad({ kind: 'simclr', tau: 0.1, gamma: 0.9 })).toThrow(/estimator\.gamma is not a known key; expected one of tau, kind/);
    expect(() => checkKeys('op', 'x', { 'a b': 1 }, ['ab'])).toThrow(/x\["a b"\] is not a known key; did you mean 'ab'\?/);
    expect(() => checkKeys('op', 'x', {}, ['ab'])).toThrow(/x\.ab is required/);
  });

  it('edit distance and the nearest candidate', () => {
    expect(levenshtein('optimiser', 'optimizer')).toBe(1);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(nearest('LR', ['lr', 'tau'])).toBe('lr');
    expect(nearest('c', ['a', 'b'])).toBeNull(); // every character differs: not a misspelling
    expect(nearest('temperature', ['name', 'tau'])).toBeNull();
  });
});
