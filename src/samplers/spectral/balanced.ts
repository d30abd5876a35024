/**
 * Exact capacitated assignment (the transportation problem with unit supplies):
 *
 *   min Σ_i cost[i][a(i)]   over a: [n] → [k]   subject to |a⁻¹(c)| = cap[c] for every c  (Σ cap = n).
 *
 * This is CHO's balanced step ("Hungarian on distances to K centres each repeated B times") without
 * the n x n cost matrix: the Hungarian method on K centres each repeated B times solves the same
 * problem in O(n³); here it is a min-cost flow solved by successive shortest paths with potentials
 * (Ahuja, Magnanti & Orlin 1993, §9.7), in O(E·(n·k + k²)) for E = the total initial excess.
 *
 * Formulation. Start from the pseudo-flow "every point at its nearest centre" (optimal without
 * capacities); centre c then has excess e_c = |a⁻¹(c)| − cap[c]. In the residual network a path
 * between centres alternates centre u → point j (j currently at u, cost −cost[j][u]) → centre v
 * (cost cost[j][v]); a point has no other way in, so the points collapse into centre-to-centre arcs
 * u → v of cost min_{j at u} cost[j][v] − cost[j][u]. With centre prices π the reduced-cost
 * optimality condition reads: every point sits at an argmin_c (cost[j][c] + π_c). Initially π = 0.
 * Each step runs Dijkstra (reduced costs ≥ 0) from all centres with excess > 0 until the first
 * centre with a deficit t is settled, moves one point along each arc of the shortest path (the
 * source loses one, t gains one), and updates π_c ← π_c − min(dist_c, dist_t), which keeps every
 * reduced cost ≥ 0 and makes the path arcs tight, so the moved points stay at an argmin. When no
 * excess is left the capacities hold with equality and the prices certify optimality (LP duality:
 * point duals min_c cost[j][c] + π_c, centre duals −π_c).
 *
 * Exact up to float64 rounding of the prices (reduced costs are clamped at 0, so an error of a few
 * ulps of the largest cost can pick a tied-up-to-rounding alternative). The returned cost is
 * re-summed from the input. Ties between points: lowest centre index at the start, then Dijkstra's
 * first-found order, so the result is deterministic.
 */
import { DomainError, ShapeError } from '../../core/errors.ts';

export interface BalancedAssignmentResult {
  /** assignment[i] = the centre of point i. */
  readonly assignment: Int32Array;
  /** Σ_i cost[i][assignment[i]]. */
  readonly cost: number;
  /** Centre prices π certifying optimality: assignment[i] ∈ argmin_c cost[i][c] + π_c. */
  readonly prices: Float64Array;
  /** Shortest-path augmentations done (= the total initial excess). */
  readonly augmentations: number;
}

/**
 * Exact minimum-cost assignment of n points to k centres with exact capacities (see the file
 * comment). `cost` is row-major n x k and finite; `capacity` has k non-negative integers summing to n.
 *
 * Example: balancedAssignment(Float64Array.of(0, 1, 0, 3, 2, 0), 3, 2, [2, 1]) puts points 0 and 1
 * on centre 0 and point 2 on centre 1 (cost 0); with capacity [1, 2] point 0 moves to centre 1
 * (cost 1).
 */
export function balancedAssignment(cost: Float64Array, n: number, k: number, capacity: ArrayLike<number>): BalancedAssignmentResult {
  const op = 'balancedAssignment';
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0 || k < 1) throw new ShapeError(op, `need n >= 0 points and k >= 1 centres, got n = ${n}, k = ${k}`);
  if (cost.length < n * k) throw new ShapeError(op, `cost has ${cost.length} entries, need n·k = ${n * k}`);
  if (capacity.length !== k) throw new ShapeError(op, `capacity has ${capacity.length} entries but there are ${k} centres`);
  let total = 0;
  for (let c = 0; c < k; c++) {
    const v = capacity[c]!;
    if (!Number.isInteger(v) || v < 0) throw new DomainError(op, `capacity[${c}] must be an integer >= 0, got ${v}`);
    total += v;
  }
  if (total !== n) throw new DomainError(op, `capacities sum to ${total} but there are ${n} points`);
  for (let i = 0; i < n * k; i++) if (!Number.isFinite(cost[i]!)) throw new DomainError(op, `cost[${Math.floor(i / k)}][${i % k}] is ${cost[i]}; costs must be finite`);

  // Nearest centre per point; doubly linked member lists per centre.
  const a = new Int32Array(n);
  const head = new Int32Array(k).fill(-1);
  const next = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  const excess = new Int32Array(k);
  const link = (i: number, c: number) => {
    a[i] = c;
    prev[i] = -1;
    next[i] = head[c]!;
    if (head[c]! >= 0) prev[head[c]!] = i;
    head[c] = i;
  };
  const unlink = (i: number) => {
    const c = a[i]!;
    if (prev[i]! >= 0) next[prev[i]!] = next[i]!;
    else head[c] = next[i]!;
    if (next[i]! >= 0) prev[next[i]!] = prev[i]!;
  };
  for (let i = n - 1; i >= 0; i--) {
    let b = 0;
    for (let c = 1; c < k; c++) if (cost[i * k + c]! < cost[i * k + b]!) b = c;
    link(i, b);
  }
  for (let i = 0; i < n; i++) excess[a[i]!]++;
  for (let c = 0; c < k; c++) excess[c] -= capacity[c]!;

  const pi = new Float64Array(k);
  const dist = new Float64Array(k);
  const done = new Uint8Array(k);
  const predPoint = new Int32Array(k);
  let augmentations = 0;
  for (;;) {
    let anyExcess = false;
    for (let c = 0; c < k; c++) {
      const src = excess[c]! > 0;
      anyExcess ||= src;
      dist[c] = src ? 0 : Infinity;
      done[c] = 0;
      predPoint[c] = -1;
    }
    if (!anyExcess) break;
    let t = -1;
    for (;;) {
      let u = -1;
      for (let c = 0; c < k; c++) if (!done[c] && (u < 0 || dist[c]! < dist[u]!)) u = c;
      if (u < 0 || dist[u] === Infinity) throw new DomainError(op, 'no augmenting path (internal error: capacities are feasible)');
      done[u] = 1;
      if (excess[u]! < 0) {
        t = u;
        break;
      }
      const du = dist[u]! - pi[u]!;
      for (let j = head[u]!; j >= 0; j = next[j]!) {
        const base = j * k;
        const cju = cost[base + u]!;
        for (let v = 0; v < k; v++) {
          if (done[v]) continue;
          // Reduced cost of u → j → v: cost[j][v] − cost[j][u] + π_v − π_u (>= 0 up to rounding).
          const r = cost[base + v]! - cju + pi[v]! + du;
          const nd = r > dist[u]! ? r : dist[u]!;
          if (nd < dist[v]!) {
            dist[v] = nd;
            predPoint[v] = j;
          }
        }
      }
    }
    const dt = dist[t]!;
    for (let c = 0; c < k; c++) pi[c] -= Math.min(dist[c]!, dt);
    // Move one point along every arc of the path, from t back to a source.
    let v = t;
    while (predPoint[v]! >= 0) {
      const j = predPoint[v]!;
      const u = a[j]!;
      unlink(j);
      link(j, v);
      v = u;
    }
    excess[v]--;
    excess[t]++;
    augmentations++;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += cost[i * k + a[i]!]!;
  return { assignment: a, cost: sum, prices: pi, augmentations };
}
