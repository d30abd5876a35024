/**
 * Vectorised exp for f64x2 and f32x4 (plain WebAssembly SIMD, no relaxed ops, deterministic).
 *
 * exp(x) = 2^k · exp(r),  k = round(x / ln2),  r = x − k·ln2 (Cody–Waite: ln2 = hi + lo, hi with
 * trailing zero bits so k·hi is exact), |r| ≤ ln2/2, exp(r) by its Taylor polynomial
 * (degree 13 for f64: truncation ≤ 4e-18 relative; degree 7 for f32: ≤ 5e-9), Horner.
 * The integer k comes from the "shifter" trick (x/ln2 + 1.5·2^52 rounds to an integer in the
 * low mantissa bits), and 2^k is built in the exponent field as 2·2^(k−1) so that k = 1024 (the
 * top of the range) is representable.
 *
 * Range: inputs below −707 (f64) / −86 (f32) return 0 (the true value is below the smallest normal
 * number, so subnormals are flushed); −Infinity returns 0; inputs above the overflow threshold
 * return +Infinity. NaN propagates. Accuracy ~1–2 ulp inside the range.
 */

@inline
export function exp_f64x2(x: v128): v128 {
  const lo = f64x2.splat(-707.0);
  const xc = f64x2.pmin(f64x2.pmax(x, lo), f64x2.splat(710.0));
  const shifter = f64x2.splat(6755399441055744.0); // 1.5 * 2^52
  let kd = f64x2.add(f64x2.mul(xc, f64x2.splat(1.4426950408889634)), shifter);
  const ki = kd;
  kd = f64x2.sub(kd, shifter);
  // ln2 = 6.93147180369123816490e-01 (low 21 bits zero) + 1.90821492927058770002e-10
  let r = f64x2.sub(xc, f64x2.mul(kd, f64x2.splat(6.93147180369123816490e-01)));
  r = f64x2.sub(r, f64x2.mul(kd, f64x2.splat(1.90821492927058770002e-10)));
  let p = f64x2.splat(1.6059043836821613e-10); // 1/13!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.08767569878681e-9)); // 1/12!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.505210838544172e-8)); // 1/11!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-7)); // 1/10!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.7557319223985893e-6)); // 1/9!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.48015873015873e-5)); // 1/8!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4)); // 1/7!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.3888888888888889e-3)); // 1/6!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3)); // 1/5!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2)); // 1/4!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.6666666666666666e-1)); // 1/3!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  // 2^(k-1): exponent field k - 1 + 1023; the shifter's own bits fall off the top.
  const scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1022)), 52);
  const res = f64x2.mul(f64x2.add(p, p), scale);
  return v128.andnot(res, f64x2.lt(x, lo));
}

@inline
export function exp_f32x4(x: v128): v128 {
  const lo = f32x4.splat(-86.0);
  const xc = f32x4.pmin(f32x4.pmax(x, lo), f32x4.splat(89.0));
  const shifter = f32x4.splat(12582912.0); // 1.5 * 2^23
  let kd = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269502162933349609)), shifter);
  const ki = kd;
  kd = f32x4.sub(kd, shifter);
  // ln2 = 0.693145751953125 (low 12 bits zero) + 1.428606765330187e-06
  let r = f32x4.sub(xc, f32x4.mul(kd, f32x4.splat(0.693145751953125)));
  r = f32x4.sub(r, f32x4.mul(kd, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.splat(1.9841269841e-4); // 1/7!
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3888888889e-3)); // 1/6!
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3333333333e-3)); // 1/5!
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1666666667e-2)); // 1/4!
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666666667e-1)); // 1/3!
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const scale = i32x4.shl(i32x4.add(ki, i32x4.splat(126)), 23);
  const res = f32x4.mul(f32x4.add(p, p), scale);
  return v128.andnot(res, f32x4.lt(x, lo));
}

/** Scalar entry points for tests of the vector exp (lane 0 of a splat). */
export function expF64(x: f64): f64 {
  return f64x2.extract_lane(exp_f64x2(f64x2.splat(x)), 0);
}

export function expF32(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}
