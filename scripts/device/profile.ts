/**
 * Per-kernel times of the gpujs backend's fused InfoNCE (pairLse + pairSoftmaxGrad), with the GL
 * queue finished after each kernel, for a few tile / packing variants. For the device machine.
 *
 *   node .devbundle/app/profile.mjs [N ...]
 */
import { createGpujsBackend, describeGpujs, type GpujsBackendOptions } from '../../src/backend/gpujs/index.ts';
import { pairInstance } from '../../src/backend/instances.ts';
import { Rng } from '../../src/core/random.ts';

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const variants: [string, GpujsBackendOptions][] = (process.env.PROFILE_VARIANTS ?? 'default').split(',').map((v) => [v, ({
  default: {}, scalar: { vec4: false }, tile2048: { tile: 2048 }, tile8192: { tile: 8192 }, lse256: { lseTile: 256 },
} as Record<string, GpujsBackendOptions>)[v]!]);
for (const n of sizes.length ? sizes : [4096]) {
  const c = pairInstance(Rng.fromSeed(n), 'f32', { n, d: 128, tau: 0.1, exclude: 'none', layout: 'pairs', kind: 'unit', coefMask: 7 });
  for (const [label, o] of variants) {
    for (const profile of [false, true]) {
      const be = createGpujsBackend({ ...o, profile });
      if (label === 'default' && !profile) console.log(describeGpujs(be));
      const step = () => {
        c.U.data[0] = c.U.data[0]! * (1 + 1e-6);
        const t0 = performance.now();
        const l = be.kernels.pairLse(c.U, c.V, c.spec, { row: true, col: true });
        const t1 = performance.now();
        const g = be.kernels.pairSoftmaxGrad(c.U, c.V, c.spec, { ...c.coef, lseRow: l.lseRow, lseCol: l.lseCol });
        const t2 = performance.now();
        return { lse: t1 - t0, grad: t2 - t1, check: l.lseRow![0]! + g.gradU.data[0]! };
      };
      const first = step();
      const s0 = be.stats();
      const r = step();
      const s1 = be.stats();
      const per = Object.fromEntries(Object.entries(s1.kernelMs).map(([k, v]) => [k, +(v - (s0.kernelMs[k] ?? 0)).toFixed(1)]));
      console.log(JSON.stringify({ n, variant: label, profile, firstMs: +(first.lse + first.grad).toFixed(0), lseMs: +r.lse.toFixed(1), gradMs: +r.grad.toFixed(1),
        uploadMs: +(s1.uploadMs - s0.uploadMs).toFixed(1), readbackMs: +(s1.readbackMs - s0.readbackMs).toFixed(1), setOutputMs: +(s1.setOutputMs - s0.setOutputMs).toFixed(1), perKernel: per, check: r.check }));
      be.dispose();
    }
  }
}
