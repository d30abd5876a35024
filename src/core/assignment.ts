/**
 * Exact combinatorial optimisation on dense float64 weights:
 *
 * - `hungarian`: rectangular linear assignment (rows <= cols), min Σ_i cost[i][σ(i)] over injective σ.
 *   Shortest augmenting paths with dual potentials (Kuhn 1955 / Munkres 1957 in the
 *   Jonker-Volgenant 1987 form): O(n²·m) time, O(m) extra memory besides the costs.
 * - `minWeightPerfectMatching`: minimum-weight perfect matching on the complete graph with an
 *   even number of vertices (general, non-bipartite), by Edmonds' weighted blossom algorithm
 *   (Edmonds 1965, "Paths, trees, and flowers" and "Maximum matching and a polyhedron with
 *   0,1-vertices") in the O(n³) primal-dual form described by Galil (1986, "Efficient algorithms
 *   for finding maximum matching in graphs", ACM Computing Surveys 18(1)). The bookkeeping
 *   (S/T labels, least-slack edges per blossom, lazy blossom expansion) follows the structure of
 *   Joris van Rantwijk's reference implementation `mwmatching.py`, rewritten here for a dense
 *   weight matrix with typed arrays.
 *
 * Both run in exact arithmetic on integers (up to 2^52) and are exact up to float64 rounding of
 * the dual updates otherwise: the returned solution is optimal for weights perturbed by a few ulps
 * of the largest weight. The returned objective value is always re-summed from the input weights.
 *
 * npm was checked for a maintained general weighted matching package before writing this:
 * `edmonds-blossom` (a single 1.0.0 release, no types, no tests) and
 * `@graph-algorithm/maximum-matching` (AGPL-3.0, incompatible with this MIT package) were the
 * candidates; neither fits, so the algorithm is implemented here and checked against brute force.
 */
import { NonFiniteError, ShapeError } from './errors.ts';
import type { Matrix } from './matrix.ts';

export interface AssignmentResult {
  /** assignment[i] = the column assigned to row i (distinct columns). */
  readonly assignment: Int32Array;
  /** Σ_i cost[i][assignment[i]], summed from the input costs. */
  readonly cost: number;
}

export interface PerfectMatchingResult {
  /** mate[v] = the vertex matched to v (mate[mate[v]] = v, mate[v] != v). */
  readonly mate: Int32Array;
  /** Σ over matched pairs {v, mate[v]} (each pair once) of the symmetric weight w_{v,mate[v]}. */
  readonly weight: number;
}

/** Copies a Matrix or number[][] into a contiguous row-major Float64Array, checking finiteness. */
function denseCopy(op: string, name: string, a: Matrix | readonly (readonly number[])[]): { data: Float64Array; rows: number; cols: number } {
  if (Array.isArray(a)) {
    const rows = a.length;
    const cols = rows === 0 ? 0 : a[0]!.length;
    const data = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = a[i]!;
      if (!Array.isArray(row) || row.length !== cols) {
        throw new ShapeError(op, `${name} row 0 has ${cols} entries but row ${i} has ${Array.isArray(row) ? row.length : 'no array'}`);
      }
      for (let j = 0; j < cols; j++) {
        const x = row[j]!;
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new NonFiniteError(op, `${name}[${i}][${j}] is ${x}; entries must be finite numbers`);
        data[i * cols + j] = x;
      }
    }
    return { data, rows, cols };
  }
  const m = a as Matrix;
  const data = new Float64Array(m.rows * m.cols);
  for (let i = 0; i < m.rows; i++) {
    const base = m.offset + i * m.rowStride;
    for (let j = 0; j < m.cols; j++) {
      const x = m.data[base + j * m.colStride]!;
      if (!Number.isFinite(x)) throw new NonFiniteError(op, `${name}[${i},${j}] is ${x}; entries must be finite`);
      data[i * m.cols + j] = x;
    }
  }
  return { data, rows: m.rows, cols: m.cols };
}

// =============================================================================================
// Linear assignment

/**
 * Minimum-cost assignment of every row to a distinct column, for an n x m cost matrix with n <= m:
 *   min_σ Σ_i cost[i][σ(i)],  σ: [n] → [m] injective.
 * Exact (shortest augmenting paths with potentials u, v keeping cost[i][j] - u_i - v_j >= 0),
 * any finite costs (negative and tied costs included). O(n²·m) time.
 *
 * Example: hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]) → assignment [1, 0, 2], cost 5.
 */
export function hungarian(cost: Matrix | readonly (readonly number[])[]): AssignmentResult {
  const { data: a, rows: n, cols: m } = denseCopy('hungarian', 'cost', cost);
  if (n > m) throw new ShapeError('hungarian', `cost is ${n}x${m}; needs rows <= cols (transpose it to assign columns to rows)`);
  if (n === 0) return { assignment: new Int32Array(0), cost: 0 };

  // 1-based rows and columns; column 0 and row 0 are the virtual source of each augmentation.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row matched to column j (0 = none)
  const way = new Int32Array(m + 1); // predecessor column on the shortest path
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      const ui0 = u[i0]!;
      const rowBase = (i0 - 1) * m - 1; // a[rowBase + j] = cost[i0-1][j-1]
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a[rowBase + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const assignment = new Int32Array(n);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) assignment[p[j]! - 1] = j - 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += a[i * m + assignment[i]!]!;
  return { assignment, cost: total };
}

// =============================================================================================
// General weighted matching (Edmonds' blossom algorithm)

/**
 * Minimum-weight perfect matching of the complete graph on n vertices (n even) with symmetric
 * edge weights `weights[i][j]` (the diagonal is ignored; the matrix must be symmetric up to
 * 1e-12 of its largest entry, and the mean of the two triangles is used).
 *
 * Reduced to a maximum-weight maximum-cardinality matching with weights c - w_ij >= 0
 * (c = max w_ij): every perfect matching has n/2 edges, so the shift does not change the optimum.
 * O(n³) time, O(n²) memory.
 *
 * Example: for weights [[0,1,9,9],[1,0,9,9],[9,9,0,1],[9,9,1,0]] the matching is {0,1},{2,3}
 * (mate [1, 0, 3, 2]) with weight 2.
 */
export function minWeightPerfectMatching(weights: Matrix | readonly (readonly number[])[]): PerfectMatchingResult {
  const op = 'minWeightPerfectMatching';
  const { data: w, rows: n, cols } = denseCopy(op, 'weights', weights);
  if (n !== cols) throw new ShapeError(op, `weights must be square, got ${n}x${cols}`);
  if (n % 2 !== 0) throw new ShapeError(op, `a perfect matching needs an even number of vertices, got ${n}`);
  if (n === 0) return { mate: new Int32Array(0), weight: 0 };

  let maxAbs = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) maxAbs = Math.max(maxAbs, Math.abs(w[i * n + j]!));
  const tol = 1e-12 * maxAbs;
  let c = -Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = w[i * n + j]!;
      const b = w[j * n + i]!;
      if (Math.abs(a - b) > tol) {
        throw new ShapeError(op, `weights must be symmetric: weights[${i},${j}] = ${a} but weights[${j},${i}] = ${b}`);
      }
      const s = a === b ? a : (a + b) / 2;
      w[i * n + j] = s;
      w[j * n + i] = s;
      if (s > c) c = s;
    }
  }
  // Maximisation weights c - w >= 0 (diagonal unused).
  const wmax = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) wmax[i] = c - w[i]!;
  const mate = maxWeightPerfectMatchingDense(n, wmax);

  let total = 0;
  for (let v = 0; v < n; v++) {
    const m = mate[v]!;
    if (m < 0 || mate[m] !== v) throw new Error(`${op}: internal error, vertex ${v} is not perfectly matched`);
    if (v < m) total += w[v * n + m]!;
  }
  return { mate, weight: total };
}

/**
 * Maximum-weight maximum-cardinality matching on the complete graph K_n, weights w (n x n,
 * symmetric, >= 0, diagonal ignored). Returns mate (perfect when n is even).
 *
 * Vertices are 0..n-1; non-trivial blossoms get ids n..2n-1. Dual variables are stored doubled
 * for vertices (dual[v] = 2·u_v) as in Galil's exposition, so the slack of edge (v, w) is
 * dual[v] + dual[w] - 2·w_vw (for edges not inside a blossom).
 */
function maxWeightPerfectMatchingDense(n: number, w: Float64Array): Int32Array {
  const nb = 2 * n;
  const NONE = -1;

  let maxWeight = 0;
  for (let i = 0; i < n * n; i++) if (w[i]! > maxWeight) maxWeight = w[i]!;

  const mate = new Int32Array(n).fill(NONE);
  // label: 0 free, 1 S, 2 T; bit 4 marks a breadcrumb during scanBlossom.
  const label = new Int8Array(nb);
  // labeledge[b] = (labelV[b], labelW[b]): the edge through which b got its label (labelV = NONE: none).
  const labelV = new Int32Array(nb).fill(NONE);
  const labelW = new Int32Array(nb).fill(NONE);
  const inblossom = new Int32Array(n);
  for (let v = 0; v < n; v++) inblossom[v] = v;
  const blossomparent = new Int32Array(nb).fill(NONE);
  const blossombase = new Int32Array(nb).fill(NONE);
  for (let v = 0; v < n; v++) blossombase[v] = v;
  const childs: (number[] | null)[] = new Array(nb).fill(null);
  // edges of blossom b: (edgeV[b][i], edgeW[b][i]) connects childs[b][i] and childs[b][i+1 mod len].
  const edgeV: (number[] | null)[] = new Array(nb).fill(null);
  const edgeW: (number[] | null)[] = new Array(nb).fill(null);
  // Least-slack edges: for a free vertex, from an S-vertex; for a top-level S-blossom, to another S-blossom.
  const bestV = new Int32Array(nb).fill(NONE);
  const bestW = new Int32Array(nb).fill(NONE);
  // For a top-level S-blossom: flat list [v0, w0, v1, w1, ...] of least-slack edges to other S-blossoms.
  const blossomBest: (number[] | null)[] = new Array(nb).fill(null);
  const unused: number[] = [];
  for (let b = nb - 1; b >= n; b--) unused.push(b);
  const dual = new Float64Array(nb);
  for (let v = 0; v < n; v++) dual[v] = maxWeight;
  const allowed = new Uint8Array(n * n);
  const queue: number[] = [];

  const slack = (v: number, u: number): number => dual[v]! + dual[u]! - 2 * w[v * n + u]!;

  const leaves = (b: number, out: number[]): number[] => {
    if (b < n) {
      out.push(b);
      return out;
    }
    const stack = [b];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (t < n) out.push(t);
      else for (const s of childs[t]!) stack.push(s);
    }
    return out;
  };

  const wrap = (j: number, len: number): number => ((j % len) + len) % len;

  const assignLabel = (wv: number, t: number, v: number): void => {
    for (;;) {
      const b = inblossom[wv]!;
      label[wv] = t;
      label[b] = t;
      labelV[wv] = v;
      labelW[wv] = v === NONE ? NONE : wv;
      labelV[b] = labelV[wv]!;
      labelW[b] = labelW[wv]!;
      bestV[wv] = NONE;
      bestW[wv] = NONE;
      bestV[b] = NONE;
      bestW[b] = NONE;
      if (t === 1) {
        leaves(b, queue);
        return;
      }
      // T: its base's mate becomes S.
      const base = blossombase[b]!;
      wv = mate[base]!;
      t = 1;
      v = base;
    }
  };

  /** Trace back from v and w; returns the base of a new blossom, or NONE for an augmenting path. */
  const scanBlossom = (v: number, u: number): number => {
    const path: number[] = [];
    let base = NONE;
    while (v !== NONE) {
      let b = inblossom[v]!;
      if (label[b]! & 4) {
        base = blossombase[b]!;
        break;
      }
      path.push(b);
      label[b] = 5;
      if (labelV[b] === NONE) {
        v = NONE; // b's base is single
      } else {
        v = labelV[b]!; // the mate of b's base
        b = inblossom[v]!; // a T-blossom
        v = labelV[b]!;
      }
      if (u !== NONE) {
        const t = v;
        v = u;
        u = t;
      }
    }
    for (const b of path) label[b] = 1;
    return base;
  };

  const addBlossom = (base: number, v: number, u: number): void => {
    const bb = inblossom[base]!;
    let bv = inblossom[v]!;
    let bw = inblossom[u]!;
    const b = unused.pop()!;
    blossombase[b] = base;
    blossomparent[b] = NONE;
    blossomparent[bb] = b;
    const path: number[] = [];
    const ev: number[] = [v];
    const ew: number[] = [u];
    while (bv !== bb) {
      blossomparent[bv] = b;
      path.push(bv);
      ev.push(labelV[bv]!);
      ew.push(labelW[bv]!);
      v = labelV[bv]!;
      bv = inblossom[v]!;
    }
    path.push(bb);
    path.reverse();
    ev.reverse();
    ew.reverse();
    while (bw !== bb) {
      blossomparent[bw] = b;
      path.push(bw);
      ev.push(labelW[bw]!);
      ew.push(labelV[bw]!);
      u = labelV[bw]!;
      bw = inblossom[u]!;
    }
    childs[b] = path;
    edgeV[b] = ev;
    edgeW[b] = ew;
    label[b] = 1;
    labelV[b] = labelV[bb]!;
    labelW[b] = labelW[bb]!;
    dual[b] = 0;
    for (const x of leaves(b, [])) {
      if (label[inblossom[x]!] === 2) queue.push(x); // former T-vertices become S
      inblossom[x] = b;
    }
    // Least-slack edges from b to each other top-level S-blossom.
    const bestToV = new Int32Array(nb).fill(NONE);
    const bestToW = new Int32Array(nb).fill(NONE);
    const touched: number[] = [];
    const consider = (i: number, j: number): void => {
      if (inblossom[j] === b) {
        const t = i;
        i = j;
        j = t;
      }
      const bj = inblossom[j]!;
      if (bj !== b && label[bj] === 1) {
        if (bestToV[bj] === NONE) {
          touched.push(bj);
          bestToV[bj] = i;
          bestToW[bj] = j;
        } else if (slack(i, j) < slack(bestToV[bj]!, bestToW[bj]!)) {
          bestToV[bj] = i;
          bestToW[bj] = j;
        }
      }
    };
    for (const sub of path) {
      const list = sub >= n ? blossomBest[sub] : null;
      if (list !== null) {
        for (let k = 0; k < list.length; k += 2) consider(list[k]!, list[k + 1]!);
        blossomBest[sub] = null;
      } else {
        for (const x of leaves(sub, [])) for (let y = 0; y < n; y++) if (y !== x) consider(x, y);
      }
      bestV[sub] = NONE;
      bestW[sub] = NONE;
    }
    const list: number[] = [];
    let bestSlack = Infinity;
    bestV[b] = NONE;
    bestW[b] = NONE;
    for (const bj of touched) {
      const i = bestToV[bj]!;
      const j = bestToW[bj]!;
      list.push(i, j);
      const s = slack(i, j);
      if (bestV[b] === NONE || s < bestSlack) {
        bestV[b] = i;
        bestW[b] = j;
        bestSlack = s;
      }
    }
    blossomBest[b] = list;
  };

  const expandBlossom = (b: number, endstage: boolean): void => {
    const ch = childs[b]!;
    const ev = edgeV[b]!;
    const ew = edgeW[b]!;
    const len = ch.length;
    for (const s of ch) {
      blossomparent[s] = NONE;
      if (s < n) inblossom[s] = s;
      else if (endstage && dual[s] === 0) expandBlossom(s, endstage);
      else for (const x of leaves(s, [])) inblossom[x] = s;
    }
    if (!endstage && label[b] === 2) {
      // Relabel the sub-blossoms on the even-length path from the entry child to the base.
      const entrychild = inblossom[labelW[b]!]!;
      let j = ch.indexOf(entrychild);
      let jstep: number;
      if (j & 1) {
        j -= len;
        jstep = 1;
      } else {
        jstep = -1;
      }
      let v = labelV[b]!;
      let u = labelW[b]!;
      while (j !== 0) {
        let p: number;
        let q: number;
        if (jstep === 1) {
          p = ev[wrap(j, len)]!;
          q = ew[wrap(j, len)]!;
        } else {
          q = ev[wrap(j - 1, len)]!;
          p = ew[wrap(j - 1, len)]!;
        }
        label[u] = 0;
        label[q] = 0;
        assignLabel(u, 2, v);
        allowed[p * n + q] = 1;
        allowed[q * n + p] = 1;
        j += jstep;
        if (jstep === 1) {
          v = ev[wrap(j, len)]!;
          u = ew[wrap(j, len)]!;
        } else {
          u = ev[wrap(j - 1, len)]!;
          v = ew[wrap(j - 1, len)]!;
        }
        allowed[v * n + u] = 1;
        allowed[u * n + v] = 1;
        j += jstep;
      }
      // The base sub-blossom becomes T without passing the label on to its mate.
      const bw = ch[wrap(j, len)]!;
      label[u] = 2;
      label[bw] = 2;
      labelV[u] = v;
      labelW[u] = u;
      labelV[bw] = v;
      labelW[bw] = u;
      bestV[bw] = NONE;
      bestW[bw] = NONE;
      j += jstep;
      while (ch[wrap(j, len)] !== entrychild) {
        const bv = ch[wrap(j, len)]!;
        if (label[bv] === 1) {
          j += jstep;
          continue; // got S through a neighbour already
        }
        let reached = NONE;
        for (const x of leaves(bv, [])) {
          if (label[x] !== 0) {
            reached = x;
            break;
          }
        }
        if (reached !== NONE) {
          label[reached] = 0;
          label[mate[blossombase[bv]!]!] = 0;
          assignLabel(reached, 2, labelV[reached]!);
        }
        j += jstep;
      }
    }
    label[b] = 0;
    labelV[b] = NONE;
    labelW[b] = NONE;
    bestV[b] = NONE;
    bestW[b] = NONE;
    blossomparent[b] = NONE;
    blossombase[b] = NONE;
    childs[b] = null;
    edgeV[b] = null;
    edgeW[b] = null;
    blossomBest[b] = null;
    dual[b] = 0;
    unused.push(b);
  };

  /** Swap matched/unmatched edges along the even path inside blossom b from vertex v to its base. */
  const augmentBlossom = (b: number, v: number): void => {
    let t = v;
    while (blossomparent[t] !== b) t = blossomparent[t]!;
    if (t >= n) augmentBlossom(t, v);
    const ch = childs[b]!;
    const ev = edgeV[b]!;
    const ew = edgeW[b]!;
    const len = ch.length;
    const i = ch.indexOf(t);
    let j = i;
    let jstep: number;
    if (i & 1) {
      j -= len;
      jstep = 1;
    } else {
      jstep = -1;
    }
    while (j !== 0) {
      j += jstep;
      t = ch[wrap(j, len)]!;
      let x: number;
      let y: number;
      if (jstep === 1) {
        x = ev[wrap(j, len)]!;
        y = ew[wrap(j, len)]!;
      } else {
        y = ev[wrap(j - 1, len)]!;
        x = ew[wrap(j - 1, len)]!;
      }
      if (t >= n) augmentBlossom(t, x);
      j += jstep;
      t = ch[wrap(j, len)]!;
      if (t >= n) augmentBlossom(t, y);
      mate[x] = y;
      mate[y] = x;
    }
    // Rotate so that the new base comes first.
    childs[b] = ch.slice(i).concat(ch.slice(0, i));
    edgeV[b] = ev.slice(i).concat(ev.slice(0, i));
    edgeW[b] = ew.slice(i).concat(ew.slice(0, i));
    blossombase[b] = blossombase[childs[b]![0]!]!;
  };

  /** Augment along the path through the S-vertices v and u (joined by edge (v, u)). */
  const augmentMatching = (v: number, u: number): void => {
    for (const [s0, j0] of [[v, u], [u, v]] as const) {
      let s = s0;
      let j = j0;
      for (;;) {
        const bs = inblossom[s]!;
        if (bs >= n) augmentBlossom(bs, s);
        mate[s] = j;
        if (labelV[bs] === NONE) break; // reached a single vertex
        const t = labelV[bs]!;
        const bt = inblossom[t]!;
        s = labelV[bt]!;
        j = labelW[bt]!;
        if (bt >= n) augmentBlossom(bt, j);
        mate[j] = s;
      }
    }
  };

  // Main loop: each stage augments the matching by one edge.
  for (;;) {
    label.fill(0);
    labelV.fill(NONE);
    labelW.fill(NONE);
    bestV.fill(NONE);
    bestW.fill(NONE);
    for (let b = n; b < nb; b++) blossomBest[b] = null;
    allowed.fill(0);
    queue.length = 0;
    for (let v = 0; v < n; v++) if (mate[v] === NONE && label[inblossom[v]!] === 0) assignLabel(v, 1, NONE);

    let augmented = false;
    for (;;) {
      // Grow the alternating forest along tight (zero-slack) edges.
      while (queue.length > 0 && !augmented) {
        const v = queue.pop()!;
        for (let u = 0; u < n; u++) {
          if (u === v) continue;
          const bv = inblossom[v]!;
          const bw = inblossom[u]!;
          if (bv === bw) continue; // inside one blossom
          let kslack = 0;
          if (!allowed[v * n + u]) {
            kslack = slack(v, u);
            if (kslack <= 0) {
              allowed[v * n + u] = 1;
              allowed[u * n + v] = 1;
            }
          }
          if (allowed[v * n + u]) {
            if (label[bw] === 0) {
              assignLabel(u, 2, v); // (C1) u free: T, its mate S
            } else if (label[bw] === 1) {
              // (C2) two S-blossoms: a new blossom or an augmenting path
              const base = scanBlossom(v, u);
              if (base !== NONE) addBlossom(base, v, u);
              else {
                augmentMatching(v, u);
                augmented = true;
                break;
              }
            } else if (label[u] === 0) {
              // u inside a T-blossom, reached from outside for the first time
              label[u] = 2;
              labelV[u] = v;
              labelW[u] = u;
            }
          } else if (label[bw] === 1) {
            if (bestV[bv] === NONE || kslack < slack(bestV[bv]!, bestW[bv]!)) {
              bestV[bv] = v;
              bestW[bv] = u;
            }
          } else if (label[u] === 0) {
            if (bestV[u] === NONE || kslack < slack(bestV[u]!, bestW[u]!)) {
              bestV[u] = v;
              bestW[u] = u;
            }
          }
        }
      }
      if (augmented) break;

      // No augmenting path along tight edges: change the duals by delta (all values doubled).
      let deltatype = -1;
      let delta = 0;
      let dV = NONE;
      let dW = NONE;
      let dB = NONE;
      // delta2: least slack from an S-vertex to a free vertex.
      for (let v = 0; v < n; v++) {
        if (label[inblossom[v]!] === 0 && bestV[v] !== NONE) {
          const d = slack(bestV[v]!, bestW[v]!);
          if (deltatype === -1 || d < delta) {
            delta = d;
            deltatype = 2;
            dV = bestV[v]!;
            dW = bestW[v]!;
          }
        }
      }
      // delta3: half the least slack between two S-blossoms.
      for (let b = 0; b < nb; b++) {
        if (blossombase[b] !== NONE && blossomparent[b] === NONE && label[b] === 1 && bestV[b] !== NONE) {
          const d = slack(bestV[b]!, bestW[b]!) / 2;
          if (deltatype === -1 || d < delta) {
            delta = d;
            deltatype = 3;
            dV = bestV[b]!;
            dW = bestW[b]!;
          }
        }
      }
      // delta4: least dual of a top-level T-blossom.
      for (let b = n; b < nb; b++) {
        if (blossombase[b] !== NONE && blossomparent[b] === NONE && label[b] === 2 && (deltatype === -1 || dual[b]! < delta)) {
          delta = dual[b]!;
          deltatype = 4;
          dB = b;
        }
      }
      if (deltatype === -1) {
        // Maximum cardinality reached (no free vertex can be reached any more).
        deltatype = 1;
        let mn = Infinity;
        for (let v = 0; v < n; v++) mn = Math.min(mn, dual[v]!);
        delta = Math.max(0, mn);
      }
      for (let v = 0; v < n; v++) {
        const l = label[inblossom[v]!];
        if (l === 1) dual[v] -= delta;
        else if (l === 2) dual[v] += delta;
      }
      for (let b = n; b < nb; b++) {
        if (blossombase[b] !== NONE && blossomparent[b] === NONE) {
          if (label[b] === 1) dual[b] += delta;
          else if (label[b] === 2) dual[b] -= delta;
        }
      }
      if (deltatype === 1) break;
      if (deltatype === 2 || deltatype === 3) {
        allowed[dV * n + dW] = 1;
        allowed[dW * n + dV] = 1;
        queue.push(dV);
      } else {
        expandBlossom(dB, false);
      }
    }
    if (!augmented) break;
    // End of stage: expand the top-level S-blossoms whose dual reached zero.
    for (let b = n; b < nb; b++) {
      if (blossombase[b] !== NONE && blossomparent[b] === NONE && label[b] === 1 && dual[b] === 0) expandBlossom(b, true);
    }
  }
  return mate;
}
