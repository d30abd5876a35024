/**
 * gpu.js kernel sources of the gpujs backend (strings, so no transpiler touches them; gpu.js
 * compiles them to GLSL fragment shaders in headlessgl mode, to WebAssembly in webasm mode).
 *
 * Layout: a matrix texture M is n x d, read as M[row][col]. Loop bounds that GLSL ES 1.0 needs
 * constant are `this.constants.*` (d, the tile widths); sizes and offsets that change between
 * calls are Integer arguments, so one compiled kernel serves every call of a shape class.
 * S_ij = (u_i · v_j) / τ is recomputed where needed, never stored beyond one G tile.
 *
 * Exclusion code `excl` (see ../types.ts): 0 none, 1 the positive pos(i) = (i + shift) mod n,
 * 2 also the diagonal.
 */

/** Copies an uploaded array into a texture (the pipeline's resident copy of an input). */
export const UPLOAD = `function (a) {
  return a[this.thread.y][this.thread.x];
}`;

/**
 * Partial online log-sum-exp over one column tile: thread (t, i) streams S_ij for j in tile t and
 * keeps (m, s) with s = Σ exp(S_ij − m), m the running max (max-shifted; m starts at −1e30, so a
 * tile with no kept entry returns s = 0).
 */
export const LSE_PARTIAL = `function (A, B, n, shift, invTau) {
  const i = this.thread.y;
  const j0 = this.thread.x * this.constants.C;
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  let m = -1e30;
  let s = 0.0;
  for (let jj = 0; jj < this.constants.C; jj++) {
    const j = j0 + jj;
    if (j >= n) {
      break;
    }
    let keep = 1;
    if (this.constants.excl >= 1 && j == pos) {
      keep = 0;
    }
    if (this.constants.excl == 2 && j == i) {
      keep = 0;
    }
    if (keep == 1) {
      let dot = 0.0;
      for (let k = 0; k < this.constants.d; k++) {
        dot += A[i][k] * B[j][k];
      }
      const x = dot * invTau;
      if (x > m) {
        s = s * Math.exp(m - x) + 1.0;
        m = x;
      } else {
        s += Math.exp(x - m);
      }
    }
  }
  return [m, s];
}`;

/** Merges the tiles' (m_t, s_t): lse = M + log Σ_t s_t·exp(m_t − M), M = max m_t; −3e38 marks "nothing kept" (−∞). */
export const LSE_COMBINE = `function (P, nT) {
  const i = this.thread.x;
  let M = -1e30;
  for (let t = 0; t < nT; t++) {
    const v = P[i][t];
    if (v[1] > 0.0 && v[0] > M) {
      M = v[0];
    }
  }
  let S = 0.0;
  for (let q = 0; q < nT; q++) {
    const w = P[i][q];
    if (w[1] > 0.0) {
      S += w[1] * Math.exp(w[0] - M);
    }
  }
  if (S > 0.0) {
    return M + Math.log(S);
  }
  return -3.0e38;
}`;

/** positive_i = S_{i, pos(i)}. */
export const POSITIVE = `function (A, B, n, shift, invTau) {
  const i = this.thread.x;
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  let dot = 0.0;
  for (let k = 0; k < this.constants.d; k++) {
    dot += A[i][k] * B[pos][k];
  }
  return dot * invTau;
}`;

/**
 * One tile of G (rows r0.., columns c0..):
 *   G_ij = rowCoef_i·exp(S_ij − lseRow_i) + colCoef_j·exp(S_ij − lseCol_j)  (kept (i, j)),
 *   G_{i,pos(i)} += posCoef_i.
 * coef is n x 5: [rowCoef, lseRow, colCoef, lseCol, posCoef]. A zero coefficient skips its exp
 * (its lse may be a placeholder, and exp could overflow).
 */
export const G_TILE = `function (U, V, coef, n, shift, invTau, r0, c0) {
  const i = r0 + this.thread.y;
  const j = c0 + this.thread.x;
  if (i >= n || j >= n) {
    return 0.0;
  }
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  let keep = 1;
  if (this.constants.excl >= 1 && j == pos) {
    keep = 0;
  }
  if (this.constants.excl == 2 && j == i) {
    keep = 0;
  }
  let g = 0.0;
  if (keep == 1) {
    let dot = 0.0;
    for (let k = 0; k < this.constants.d; k++) {
      dot += U[i][k] * V[j][k];
    }
    const x = dot * invTau;
    const a = coef[i][0];
    if (a != 0.0) {
      g += a * Math.exp(x - coef[i][1]);
    }
    const b = coef[j][2];
    if (b != 0.0) {
      g += b * Math.exp(x - coef[j][3]);
    }
  }
  if (j == pos) {
    g += coef[i][4];
  }
  return g;
}`;

/** gradU tile rows: out_ik = Σ_{j in tile} G_ij · V_jk, added to the previous column tiles' sum when acc. */
function gu(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}G, V, n, c0) {
  const i = this.thread.y;
  const k = this.thread.x;
  let a = 0.0;
  for (let jj = 0; jj < this.constants.C; jj++) {
    const j = c0 + jj;
    if (j >= n) {
      break;
    }
    a += G[i][jj] * V[j][k];
  }
  return ${acc ? 'prev[i][k] + a' : 'a'};
}`;
}
export const GU_FIRST = gu(false);
export const GU_ACC = gu(true);

/** gradV tile rows: out_jk = Σ_{i in tile} G_ij · U_ik, added to the previous row tiles' sum when acc. */
function gv(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}G, U, n, r0) {
  const j = this.thread.y;
  const k = this.thread.x;
  let b = 0.0;
  for (let ii = 0; ii < this.constants.R; ii++) {
    const i = r0 + ii;
    if (i >= n) {
      break;
    }
    b += G[ii][j] * U[i][k];
  }
  return ${acc ? 'prev[j][k] + b' : 'b'};
}`;
}
export const GV_FIRST = gv(false);
export const GV_ACC = gv(true);

/** C_ij = Σ_p A_ip · B_pj over one row tile of C (A is the tile's rows, m x k; B is k x n). */
export const GEMM = `function (A, B) {
  const i = this.thread.y;
  const j = this.thread.x;
  let s = 0.0;
  for (let p = 0; p < this.constants.k; p++) {
    s += A[i][p] * B[p][j];
  }
  return s;
}`;

// ------------------------------------------------------------------ vec4 kernels
// U and V live in RGBA textures, four consecutive columns per texel (Array(4) outputs of
// UPLOAD4, d padded with zeros to d4 = ⌈d/4⌉ texels): one texture fetch brings four values. On
// GPUs whose fragment path is texture-fetch bound this is what matters (see benchmarks/README.md).
// Kernels that read four rows of V per step compute four outputs per thread, so one fetch of U
// serves 16 multiply-adds.

const LANES = [0, 1, 2, 3] as const;

/** Packs rows of a (n x 4·d4, zero-padded) into RGBA texels. */
export const UPLOAD4 = `function (a) {
  const i = this.thread.y;
  const q = this.thread.x * 4;
  return [a[i][q], a[i][q + 1], a[i][q + 2], a[i][q + 3]];
}`;

/** Four dot products u_i · v_{j+l}, l = 0..3 (rows past n read row n−1; callers mask them). */
function dots4(A: string, B: string, i: string, j: string): string {
  return `
  let d0 = 0.0;
  let d1 = 0.0;
  let d2 = 0.0;
  let d3 = 0.0;
  let jr1 = ${j} + 1;
  let jr2 = ${j} + 2;
  let jr3 = ${j} + 3;
  if (jr1 >= n) { jr1 = n - 1; }
  if (jr2 >= n) { jr2 = n - 1; }
  if (jr3 >= n) { jr3 = n - 1; }
  for (let q = 0; q < this.constants.d4; q++) {
    const a = ${A}[${i}][q];
    const b0 = ${B}[${j}][q];
    const b1 = ${B}[jr1][q];
    const b2 = ${B}[jr2][q];
    const b3 = ${B}[jr3][q];
    d0 += a[0] * b0[0] + a[1] * b0[1] + a[2] * b0[2] + a[3] * b0[3];
    d1 += a[0] * b1[0] + a[1] * b1[1] + a[2] * b1[2] + a[3] * b1[3];
    d2 += a[0] * b2[0] + a[1] * b2[1] + a[2] * b2[2] + a[3] * b2[3];
    d3 += a[0] * b3[0] + a[1] * b3[1] + a[2] * b3[2] + a[3] * b3[3];
  }`;
}

/** keep_l: whether (i, j + l) is in range and not excluded. */
function keep4(i: string, j: string): string {
  return LANES.map((l) => `
  let k${l} = 1;
  if (${j} + ${l} >= n) { k${l} = 0; }
  if (this.constants.excl >= 1 && ${j} + ${l} == pos) { k${l} = 0; }
  if (this.constants.excl == 2 && ${j} + ${l} == ${i}) { k${l} = 0; }`).join('');
}

/**
 * S tile for the log-sum-exp pass (four columns per thread, Array(4) output): S_ij = u_i·v_j/τ for
 * kept (i, j), −3e38 ("−∞") for excluded or out-of-range entries. Row and column log-sum-exps are
 * then reduced from this one tile, so S is computed once per pass (not once per direction).
 */
export const S_TILE4 = `function (U, V, n, shift, invTau, r0, c0) {
  const i = r0 + this.thread.y;
  const j = c0 + this.thread.x * 4;
  if (i >= n || j >= n) {
    return [-3.0e38, -3.0e38, -3.0e38, -3.0e38];
  }
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  ${dots4('U', 'V', 'i', 'j')}
  ${keep4('i', 'j')}
  ${LANES.map((l) => `
  let x${l} = -3.0e38;
  if (k${l} == 1) {
    x${l} = d${l} * invTau;
  }`).join('')}
  return [x0, x1, x2, x3];
}`;

/** Online (m, s) update with x, skipping "−∞" entries (x ≤ −1e38). */
function online(x: string): string {
  return `
    if (${x} > -1.0e38) {
      if (${x} > m) {
        s = s * Math.exp(m - ${x}) + 1.0;
        m = ${x};
      } else {
        s += Math.exp(${x} - m);
      }
    }`;
}

/** Merge of (m, s) with the previous tiles' (pm, ps): the same log-sum-exp, max-shifted. */
const MERGE = `
  const pv = prev[this.thread.x];
  if (pv[1] > 0.0) {
    if (s > 0.0) {
      const M = Math.max(m, pv[0]);
      s = s * Math.exp(m - M) + pv[1] * Math.exp(pv[0] - M);
      m = M;
    } else {
      m = pv[0];
      s = pv[1];
    }
  }`;

/** Row partials of one S tile: thread i streams its row's texels (four logits each). */
function rowReduce(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}S, n, c0) {
  const i = this.thread.x;
  let m = -1e30;
  let s = 0.0;
  for (let jq = 0; jq < this.constants.C4; jq++) {
    if (c0 + jq * 4 >= n) {
      break;
    }
    const t = S[i][jq];
    const t0 = t[0];
    const t1 = t[1];
    const t2 = t[2];
    const t3 = t[3];
    ${online('t0')}
    ${online('t1')}
    ${online('t2')}
    ${online('t3')}
  }
  ${acc ? MERGE : ''}
  return [m, s];
}`;
}
export const LSE_ROWS_FIRST = rowReduce(false);
export const LSE_ROWS_ACC = rowReduce(true);

/** Column partials of one S tile: thread j walks its column (one lane of a texel per row). */
function colReduce(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}S, n, r0) {
  const jl = this.thread.x;
  const jq = Math.floor(jl / 4);
  const lane = jl - jq * 4;
  let m = -1e30;
  let s = 0.0;
  for (let ii = 0; ii < this.constants.R; ii++) {
    if (r0 + ii >= n) {
      break;
    }
    const t = S[ii][jq];
    let x = t[3];
    if (lane == 0) { x = t[0]; }
    if (lane == 1) { x = t[1]; }
    if (lane == 2) { x = t[2]; }
    ${online('x')}
  }
  ${acc ? MERGE : ''}
  return [m, s];
}`;
}
export const LSE_COLS_FIRST = colReduce(false);
export const LSE_COLS_ACC = colReduce(true);

/** positive_i from the packed textures. */
export const POSITIVE4 = `function (A, B, n, shift, invTau) {
  const i = this.thread.x;
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  let dot = 0.0;
  for (let q = 0; q < this.constants.d4; q++) {
    const a = A[i][q];
    const b = B[pos][q];
    dot += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  }
  return dot * invTau;
}`;

/** G_TILE for four columns per thread (Array(4) output, texel x covers columns c0 + 4x .. c0 + 4x + 3). */
export const G_TILE4 = `function (U, V, coef, n, shift, invTau, r0, c0) {
  const i = r0 + this.thread.y;
  const j = c0 + this.thread.x * 4;
  if (i >= n || j >= n) {
    return [0.0, 0.0, 0.0, 0.0];
  }
  let pos = i + shift;
  if (pos >= n) {
    pos = pos - n;
  }
  ${dots4('U', 'V', 'i', 'j')}
  ${keep4('i', 'j')}
  const ra = coef[i][0];
  const rl = coef[i][1];
  ${LANES.map((l) => `
  let g${l} = 0.0;
  if (k${l} == 1) {
    const x${l} = d${l} * invTau;
    if (ra != 0.0) {
      g${l} += ra * Math.exp(x${l} - rl);
    }
    const ca${l} = coef[j + ${l}][2];
    if (ca${l} != 0.0) {
      g${l} += ca${l} * Math.exp(x${l} - coef[j + ${l}][3]);
    }
  }
  if (j + ${l} == pos) {
    g${l} += coef[i][4];
  }`).join('')}
  return [g0, g1, g2, g3];
}`;

/** gradU rows, four columns k per thread: Σ_j G_ij V_jk over the tile (G packed four j per texel). */
function gu4(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}G, V, n, c0) {
  const i = this.thread.y;
  const kq = this.thread.x;
  let a0 = 0.0;
  let a1 = 0.0;
  let a2 = 0.0;
  let a3 = 0.0;
  for (let jq = 0; jq < this.constants.C4; jq++) {
    const j = c0 + jq * 4;
    if (j >= n) {
      break;
    }
    let jr1 = j + 1;
    let jr2 = j + 2;
    let jr3 = j + 3;
    if (jr1 >= n) { jr1 = n - 1; }
    if (jr2 >= n) { jr2 = n - 1; }
    if (jr3 >= n) { jr3 = n - 1; }
    const g = G[i][jq];
    const v0 = V[j][kq];
    const v1 = V[jr1][kq];
    const v2 = V[jr2][kq];
    const v3 = V[jr3][kq];
    a0 += g[0] * v0[0] + g[1] * v1[0] + g[2] * v2[0] + g[3] * v3[0];
    a1 += g[0] * v0[1] + g[1] * v1[1] + g[2] * v2[1] + g[3] * v3[1];
    a2 += g[0] * v0[2] + g[1] * v1[2] + g[2] * v2[2] + g[3] * v3[2];
    a3 += g[0] * v0[3] + g[1] * v1[3] + g[2] * v2[3] + g[3] * v3[3];
  }
  ${acc ? 'const p = prev[i][kq];\n  return [p[0] + a0, p[1] + a1, p[2] + a2, p[3] + a3];' : 'return [a0, a1, a2, a3];'}
}`;
}
export const GU4_FIRST = gu4(false);
export const GU4_ACC = gu4(true);

/** gradV rows, four columns k per thread: Σ_i G_ij U_ik over the tile (the lane of G's texel picked once). */
function gv4(acc: boolean): string {
  return `function (${acc ? 'prev, ' : ''}G, U, n, r0) {
  const jl = this.thread.y;
  const kq = this.thread.x;
  const jq = Math.floor(jl / 4);
  const lane = jl - jq * 4;
  let b0 = 0.0;
  let b1 = 0.0;
  let b2 = 0.0;
  let b3 = 0.0;
  for (let ii = 0; ii < this.constants.R; ii++) {
    const i = r0 + ii;
    if (i >= n) {
      break;
    }
    const g = G[ii][jq];
    let w = g[3];
    if (lane == 0) { w = g[0]; }
    if (lane == 1) { w = g[1]; }
    if (lane == 2) { w = g[2]; }
    const u = U[i][kq];
    b0 += w * u[0];
    b1 += w * u[1];
    b2 += w * u[2];
    b3 += w * u[3];
  }
  ${acc ? 'const p = prev[jl][kq];\n  return [p[0] + b0, p[1] + b1, p[2] + b2, p[3] + b3];' : 'return [b0, b1, b2, b3];'}
}`;
}
export const GV4_FIRST = gv4(false);
export const GV4_ACC = gv4(true);

// ------------------------------------------------------------------ pair sigmoid (SigLIP; ../types.ts)
// ℓ_ij = t·u_i·v_j + b, x_ij = z_ij·ℓ_ij (z_ii = +1, else −1), e = exp(−|x|):
//   softplus(−x) = max(−x, 0) + log1p(e),  σ(−x) = e/(1+e) (x ≥ 0) or 1/(1+e),  H = −z·σ(−x).
// GLSL has no log1p: below e = 1e-3 its series e − e²/2 + e³/3 (truncation ≤ e⁴/4, relative ≤ e³/4 < 3e-10),
// above it log(1 + e) (there log1p(e) ≥ 1e-3, so the rounding of 1 + e costs at most ~1e3·ε32 relative... and
// ~ε32 absolute, below the float32 floor of the value).

/** The per-entry sigmoid terms, as GLSL-safe statements defining sp, h from dot, i, j, t, b. */
const SIGMOID_TERMS = `
      const l = t * dot + b;
      let x = 0.0 - l;
      if (j == i) {
        x = l;
      }
      const ax = Math.abs(x);
      const e = Math.exp(0.0 - ax);
      let lp = Math.log(1.0 + e);
      if (e < 0.001) {
        lp = e * (1.0 - e * (0.5 - e / 3.0));
      }
      let sp = lp;
      if (x < 0.0) {
        sp = ax + lp;
      }
      let sg = 1.0 / (1.0 + e);
      if (x >= 0.0) {
        sg = e / (1.0 + e);
      }
      let h = sg;
      if (j == i) {
        h = 0.0 - sg;
      }`;

/**
 * Partial sums over one column tile (width constants.C): thread (tile q, row i) returns
 * [Σ softplus(−x_ij), Σ H_ij s_ij, Σ H_ij, 0] over j in the tile; summed on the host in float64.
 */
export const SIGMOID_PARTIAL = `function (A, B, n, t, b) {
  const i = this.thread.y;
  const j0 = this.thread.x * this.constants.C;
  let v = 0.0;
  let hs = 0.0;
  let hb = 0.0;
  for (let jj = 0; jj < this.constants.C; jj++) {
    const j = j0 + jj;
    if (j >= n) {
      break;
    }
    let dot = 0.0;
    for (let k = 0; k < this.constants.d; k++) {
      dot += A[i][k] * B[j][k];
    }
    ${SIGMOID_TERMS}
    v += sp;
    hs += h * dot;
    hb += h;
  }
  return [v, hs, hb, 0.0];
}`;

/** One tile of G = t·H (rows r0.., columns c0..), for the GU / GV kernels above. */
export const SIGMOID_G_TILE = `function (U, V, n, t, b, r0, c0) {
  const i = r0 + this.thread.y;
  const j = c0 + this.thread.x;
  if (i >= n || j >= n) {
    return 0.0;
  }
  let dot = 0.0;
  for (let k = 0; k < this.constants.d; k++) {
    dot += U[i][k] * V[j][k];
  }
  ${SIGMOID_TERMS}
  return t * h;
}`;
