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

/** gradU tile rows: out_ik = Σ_{j in tile} G_ij · V_jk (first column tile). */
export const GU_FIRST = `function (G, V, n, c0) {
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
  return a;
}`;

/** The same, accumulated onto the previous column tiles' sum. */
export const GU_ACC = `function (prev, G, V, n, c0) {
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
  return prev[i][k] + a;
}`;

/** gradV tile rows: out_jk = Σ_{i in tile} G_ij · U_ik (first row tile). */
export const GV_FIRST = `function (G, U, n, r0) {
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
  return b;
}`;

/** The same, accumulated onto the previous row tiles' sum. */
export const GV_ACC = `function (prev, G, U, n, r0) {
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
  return prev[j][k] + b;
}`;

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
