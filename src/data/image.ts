/**
 * Image augmentations for rows that are H x W single-channel images stored row-major (p = H·W),
 * e.g. MNIST digits. One view of a row applies, in this fixed order:
 *
 *   1. crop-and-resize (`crop: { minScale }`, or null to skip): a box of area fraction
 *      s ~ U[minScale, 1] and aspect ratio r = exp(U[log 3/4, log 4/3]) (height H·√(s/r), width
 *      W·√(s·r), each capped at the image), its top-left corner uniform over the positions that keep
 *      it inside; resampled back to H x W by bilinear interpolation (pixel centres, edge values
 *      repeated: PyTorch's align_corners = False).
 *   2. translation (`translate: t`, 0 to skip): integer shifts dy, dx uniform in {−t..t}, zero fill.
 *   3. random erasing (`erase: { p, minScale, maxScale }`, or null to skip): with probability p a
 *      rectangle of area fraction e ~ U[minScale, maxScale] and aspect ratio exp(U[log 0.3, log 3.3])
 *      (torchvision's RandomErasing), rounded to whole pixels and capped at the image, at a uniform
 *      position, is set to 0.
 *   4. pixel noise (`noise: σ`, 0 to skip): + σ·N(0, 1) on every pixel (no clipping).
 *
 * Draws per row, in order (a fixed number per step, whatever the outcome, so the stream does not
 * depend on the pixel values): crop 4 uniforms (scale, log-ratio, top, left); translation 2 integers
 * (dy, dx); erasing 5 uniforms (apply?, scale, log-ratio, top, left); noise H·W normals.
 *
 * What SimCLR's pipeline has that these lack: colour jitter and random grayscale (no colour here),
 * Gaussian blur, horizontal flip (wrong for digits: a flipped 2, 3, 7 is not a digit, and mirror
 * images would be declared positives). See docs/data.md.
 */
import { DomainError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';

export interface ImageAugmentSpec {
  readonly kind: 'image';
  readonly height: number;
  readonly width: number;
  /** Random resized crop; null: none. */
  readonly crop: { readonly minScale: number } | null;
  /** Largest shift in pixels (0: none). */
  readonly translate: number;
  /** Random erasing; null: none. */
  readonly erase: { readonly p: number; readonly minScale: number; readonly maxScale: number } | null;
  /** Standard deviation of the additive pixel noise (0: none). */
  readonly noise: number;
}

/** The MNIST default: crops down to 60% of the area, ±2 pixel shifts, erasing half the time, noise 0.1. */
export const DEFAULT_IMAGE_AUGMENT: ImageAugmentSpec = {
  kind: 'image', height: 28, width: 28, crop: { minScale: 0.6 }, translate: 2, erase: { p: 0.5, minScale: 0.02, maxScale: 0.2 }, noise: 0.1,
};

const LOG_CROP_RATIO: readonly [number, number] = [Math.log(3 / 4), Math.log(4 / 3)];
const LOG_ERASE_RATIO: readonly [number, number] = [Math.log(0.3), Math.log(3.3)];

function bad(op: string, msg: string): never {
  throw new DomainError(op, msg);
}
function inRange(op: string, name: string, v: unknown, lo: number, hi: number, loOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
    bad(op, `augment.${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/** Checks an image augmentation spec against inputs of dimension p (p must be height·width). */
export function validateImageAugment(op: string, a: ImageAugmentSpec, p: number): void {
  for (const k of ['height', 'width'] as const) {
    if (!Number.isSafeInteger(a[k]) || a[k] < 1) bad(op, `augment.${k} must be a positive integer, got ${String(a[k])}`);
  }
  if (a.height * a.width !== p) bad(op, `augment.height x augment.width = ${a.height} x ${a.width} = ${a.height * a.width} but the inputs have p = ${p} values per row`);
  if (a.crop !== null) {
    if (typeof a.crop !== 'object') bad(op, `augment.crop must be { minScale } or null, got ${String(a.crop)}`);
    inRange(op, 'crop.minScale', a.crop.minScale, 0, 1, true);
  }
  if (!Number.isSafeInteger(a.translate) || a.translate < 0) bad(op, `augment.translate must be an integer >= 0, got ${String(a.translate)}`);
  if (a.erase !== null) {
    if (typeof a.erase !== 'object') bad(op, `augment.erase must be { p, minScale, maxScale } or null, got ${String(a.erase)}`);
    inRange(op, 'erase.p', a.erase.p, 0, 1);
    inRange(op, 'erase.minScale', a.erase.minScale, 0, 1, true);
    inRange(op, 'erase.maxScale', a.erase.maxScale, 0, 1, true);
    if (a.erase.minScale > a.erase.maxScale) bad(op, `augment.erase.minScale = ${a.erase.minScale} exceeds augment.erase.maxScale = ${a.erase.maxScale}`);
  }
  if (typeof a.noise !== 'number' || !Number.isFinite(a.noise) || a.noise < 0) bad(op, `augment.noise must be a finite number >= 0, got ${String(a.noise)}`);
}

/**
 * One random view of every row of X (B x H·W) by the pipeline of the module comment. Returns a new
 * contiguous B x p matrix; X is not modified.
 */
export function imageAugment(X: Matrix64, rng: Rng, spec: ImageAugmentSpec): Matrix64 {
  const op = 'imageAugment';
  validateImageAugment(op, spec, X.cols);
  const { rows: B, cols: p } = X;
  const H = spec.height;
  const W = spec.width;
  const out = zeros(B, p);
  const a = new Float64Array(p);
  const b = new Float64Array(p);
  const z = new Float64Array(spec.noise > 0 ? p : 0);
  const xLo = new Int32Array(W);
  const xHi = new Int32Array(W);
  const xFr = new Float64Array(W);
  const xd = X.data;
  for (let i = 0; i < B; i++) {
    const src = X.offset + i * X.rowStride;
    for (let j = 0; j < p; j++) a[j] = xd[src + j * X.colStride]!;
    // 1. crop and resize
    if (spec.crop) {
      const s = spec.crop.minScale + (1 - spec.crop.minScale) * rng.uniform();
      const r = Math.exp(LOG_CROP_RATIO[0] + (LOG_CROP_RATIO[1] - LOG_CROP_RATIO[0]) * rng.uniform());
      const ch = Math.min(H, H * Math.sqrt(s / r));
      const cw = Math.min(W, W * Math.sqrt(s * r));
      const top = (H - ch) * rng.uniform();
      const left = (W - cw) * rng.uniform();
      const sy = ch / H;
      const sx = cw / W;
      // Bilinear sample at (top + (y + ½)·sy − ½, left + (x + ½)·sx − ½), edges repeated; the column
      // weights are the same for every row, so they are computed once per view.
      for (let x = 0; x < W; x++) {
        const xc = Math.min(Math.max(left + (x + 0.5) * sx - 0.5, 0), W - 1);
        const x0 = Math.floor(xc);
        xLo[x] = x0;
        xHi[x] = Math.min(x0 + 1, W - 1);
        xFr[x] = xc - x0;
      }
      for (let y = 0; y < H; y++) {
        const yc = Math.min(Math.max(top + (y + 0.5) * sy - 0.5, 0), H - 1);
        const y0 = Math.floor(yc);
        const r0 = y0 * W;
        const r1 = Math.min(y0 + 1, H - 1) * W;
        const fy = yc - y0;
        for (let x = 0; x < W; x++) {
          const fx = xFr[x]!;
          const x0 = xLo[x]!;
          const x1 = xHi[x]!;
          b[y * W + x] = (1 - fy) * ((1 - fx) * a[r0 + x0]! + fx * a[r0 + x1]!) + fy * ((1 - fx) * a[r1 + x0]! + fx * a[r1 + x1]!);
        }
      }
      a.set(b);
    }
    // 2. translation with zero fill
    if (spec.translate > 0) {
      const t = spec.translate;
      const dy = rng.int(2 * t + 1) - t;
      const dx = rng.int(2 * t + 1) - t;
      b.fill(0);
      for (let y = Math.max(0, dy); y < Math.min(H, H + dy); y++) {
        for (let x = Math.max(0, dx); x < Math.min(W, W + dx); x++) b[y * W + x] = a[(y - dy) * W + (x - dx)]!;
      }
      a.set(b);
    }
    // 3. random erasing
    if (spec.erase) {
      const { p: prob, minScale, maxScale } = spec.erase;
      const apply = rng.uniform() < prob;
      const e = minScale + (maxScale - minScale) * rng.uniform();
      const r = Math.exp(LOG_ERASE_RATIO[0] + (LOG_ERASE_RATIO[1] - LOG_ERASE_RATIO[0]) * rng.uniform());
      const uTop = rng.uniform();
      const uLeft = rng.uniform();
      if (apply) {
        const eh = Math.min(H, Math.max(1, Math.round(Math.sqrt(e * H * W * r))));
        const ew = Math.min(W, Math.max(1, Math.round(Math.sqrt((e * H * W) / r))));
        const top = Math.floor(uTop * (H - eh + 1));
        const left = Math.floor(uLeft * (W - ew + 1));
        for (let y = top; y < top + eh; y++) for (let x = left; x < left + ew; x++) a[y * W + x] = 0;
      }
    }
    // 4. pixel noise
    if (spec.noise > 0) {
      rng.fillNormal(z); // the same draws as p calls of rng.normal()
      for (let j = 0; j < p; j++) a[j]! += spec.noise * z[j]!;
    }
    out.data.set(a, i * p);
  }
  return out;
}
