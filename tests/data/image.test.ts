import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { twoViews, validateViewAugment } from '../../src/data/dataset.ts';
import { DEFAULT_IMAGE_AUGMENT, imageAugment, type ImageAugmentSpec } from '../../src/data/image.ts';

const NONE: ImageAugmentSpec = { kind: 'image', height: 6, width: 8, crop: null, translate: 0, erase: null, noise: 0 };

/** A generator that returns scripted uniforms / integers (and counts the calls), for exact checks. */
function scripted(uniforms: number[], ints: number[] = [], normals: number[] = []): Rng & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    uniform: () => { calls.push('u'); return uniforms.shift()!; },
    int: (n: number) => { calls.push(`i${n}`); return ints.shift()!; },
    normal: () => { calls.push('n'); return normals.shift()!; },
    // fillNormal is documented as `out.length` calls of normal(), and recorded as such.
    fillNormal: (out: Float64Array) => { for (let i = 0; i < out.length; i++) { calls.push('n'); out[i] = normals.shift()!; } return out; },
  } as unknown as Rng & { calls: string[] };
}

function image(H: number, W: number, f: (y: number, x: number) => number, rows = 1): Matrix64 {
  const X = zeros(rows, H * W);
  for (let r = 0; r < rows; r++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) X.data[r * H * W + y * W + x] = f(y, x) + r;
  return X;
}
const at = (M: Matrix64, W: number, y: number, x: number, r = 0) => M.data[r * M.cols + y * W + x]!;

describe('imageAugment', () => {
  it('with every step off is the identity and draws nothing', () => {
    const X = image(6, 8, (y, x) => y * 10 + x, 3);
    const rng = scripted([]);
    const out = imageAugment(X, rng, NONE);
    expect(Array.from(out.data)).toEqual(Array.from(X.data));
    expect(rng.calls).toEqual([]);
  });

  it('crop-and-resize: scale minScale, ratio 1, top-left corner gives the top-left quadrant upsampled bilinearly', () => {
    // u = 0 → s = minScale = 1/4; u = 1/2 → log-ratio 0 (r = 1); top = left = 0: a 4 x 4 box of the 8 x 8 image.
    const spec: ImageAugmentSpec = { ...NONE, height: 8, width: 8, crop: { minScale: 0.25 } };
    const X = image(8, 8, (y, x) => x + 100 * y);
    const out = imageAugment(X, scripted([0, 0.5, 0, 0]), spec);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        // sample point (i + 0.5)/2 − 0.5, clamped at 0 (edge repeated); the image is linear, so bilinear is exact.
        const sx = Math.max(0, (x + 0.5) / 2 - 0.5);
        const sy = Math.max(0, (y + 0.5) / 2 - 0.5);
        expect(at(out, 8, y, x)).toBeCloseTo(sx + 100 * sy, 12);
      }
    }
  });

  it('crop-and-resize of a linear image is linear with the crop\'s slope (random draws)', () => {
    const spec: ImageAugmentSpec = { ...NONE, height: 28, width: 28, crop: { minScale: 0.3 } };
    const X = image(28, 28, (y, x) => 2 * x + 3 * y, 20);
    const out = imageAugment(X, Rng.fromSeed(4), spec);
    for (let r = 0; r < 20; r++) {
      // interior differences are constant: Δx = 2·cw/W, Δy = 3·ch/H, both in (0, the full image's]
      const dx = at(out, 28, 14, 11, r) - at(out, 28, 14, 10, r);
      const dy = at(out, 28, 11, 14, r) - at(out, 28, 10, 14, r);
      for (let k = 5; k < 22; k++) {
        expect(at(out, 28, 14, k + 1, r) - at(out, 28, 14, k, r)).toBeCloseTo(dx, 9);
        expect(at(out, 28, k + 1, 14, r) - at(out, 28, k, 14, r)).toBeCloseTo(dy, 9);
      }
      expect(dx).toBeGreaterThan(0);
      expect(dx).toBeLessThanOrEqual(2 + 1e-12);
      expect(dy).toBeLessThanOrEqual(3 + 1e-12);
      // the box's area fraction (dx/2)·(dy/3) is at least minScale (up to the cap at the image's side)
      expect((dx / 2) * (dy / 3)).toBeGreaterThanOrEqual(0.3 * Math.min(3 / 4, 1) - 1e-9);
    }
  });

  it('translation shifts by (dy, dx) with zero fill', () => {
    const spec: ImageAugmentSpec = { ...NONE, translate: 2 };
    const X = image(6, 8, (y, x) => 1 + y * 10 + x);
    // int(5) − 2: 3 → dy = +1 (down), 0 → dx = −2 (left)
    const rng = scripted([], [3, 0]);
    const out = imageAugment(X, rng, spec);
    expect(rng.calls).toEqual(['i5', 'i5']);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 8; x++) {
        const sy = y - 1;
        const sx = x + 2;
        expect(at(out, 8, y, x)).toBe(sy >= 0 && sx < 8 ? 1 + sy * 10 + sx : 0);
      }
    }
  });

  it('erasing sets a rectangle of the drawn size to 0, and always takes five uniforms', () => {
    const spec: ImageAugmentSpec = { ...NONE, height: 10, width: 10, erase: { p: 0.5, minScale: 0.04, maxScale: 0.36 } };
    const X = image(10, 10, () => 1);
    // apply (0.1 < 0.5); scale u = 0 → 0.04·100 = 4 pixels; log-ratio at the midpoint of [log 0.3, log 3.3] → r = √0.99;
    // top u = 0.999 → the last row that fits; left u = 0
    const r = Math.sqrt(0.3 * 3.3);
    const eh = Math.round(Math.sqrt(4 * r));
    const ew = Math.round(Math.sqrt(4 / r));
    const rng = scripted([0.1, 0, 0.5, 0.999, 0]);
    const out = imageAugment(X, rng, spec);
    expect(rng.calls).toEqual(['u', 'u', 'u', 'u', 'u']);
    let zerosSeen = 0;
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 10; x++) {
        const inside = y >= 10 - eh && x < ew;
        expect(at(out, 10, y, x)).toBe(inside ? 0 : 1);
        if (!inside) continue;
        zerosSeen++;
      }
    }
    expect(zerosSeen).toBe(eh * ew);
    // not applied (0.7 ≥ 0.5): the image is unchanged, the same five draws are taken
    const rng2 = scripted([0.7, 0, 0.5, 0.999, 0]);
    expect(Array.from(imageAugment(X, rng2, spec).data)).toEqual(Array.from(X.data));
    expect(rng2.calls.length).toBe(5);
  });

  it('pixel noise adds σ times the generator\'s normals, in pixel order', () => {
    const spec: ImageAugmentSpec = { ...NONE, height: 2, width: 2, noise: 0.5 };
    const X = image(2, 2, (y, x) => y + x);
    const out = imageAugment(X, scripted([], [], [1, -2, 3, 4]), spec);
    expect(Array.from(out.data)).toEqual([0 + 0.5, 1 - 1, 1 + 1.5, 2 + 2]);
  });

  it('the number of draws does not depend on the pixels; views are deterministic under the seed', () => {
    const spec: ImageAugmentSpec = { ...DEFAULT_IMAGE_AUGMENT };
    const a = Rng.fromSeed(9);
    const b = Rng.fromSeed(9);
    imageAugment(zeros(5, 784), a, spec);
    imageAugment(image(28, 28, (y, x) => (x * y) % 7 / 7, 5), b, spec);
    expect(a.state()).toEqual(b.state());
    const X = image(28, 28, (y, x) => ((x + y) % 5) / 5, 4);
    const v1 = twoViews(X, [0, 1, 2, 3], Rng.fromSeed(3), spec);
    const v2 = twoViews(X, [0, 1, 2, 3], Rng.fromSeed(3), spec);
    expect(Array.from(v1.X1.data)).toEqual(Array.from(v2.X1.data));
    expect(Array.from(v1.X2.data)).toEqual(Array.from(v2.X2.data));
    expect(Array.from(v1.X1.data)).not.toEqual(Array.from(v1.X2.data));
  });

  it('refuses a spec that does not fit the rows, naming the value', () => {
    expect(() => validateViewAugment('t', { ...NONE }, 50)).toThrow(/6 x 8 = 48 but the inputs have p = 50/);
    expect(() => validateViewAugment('t', { ...NONE, crop: { minScale: 0 } }, 48)).toThrow(DomainError);
    expect(() => validateViewAugment('t', { ...NONE, erase: { p: 0.5, minScale: 0.3, maxScale: 0.2 } }, 48)).toThrow(/0.3 exceeds/);
    expect(() => validateViewAugment('t', { ...NONE, translate: 1.5 }, 48)).toThrow(/translate must be an integer >= 0, got 1.5/);
    expect(() => validateViewAugment('t', { ...NONE, noise: -1 }, 48)).toThrow(/noise/);
  });
});
