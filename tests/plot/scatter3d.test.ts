/**
 * The projected 3-D scatter: the view is a rotation (norms kept; known directions land where the
 * camera says), the chart renders with its points, labels and sphere guides; bad input is refused.
 * Also: heat-map entries past the colour range by rounding only are not reported as outside it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, DomainError, NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { fromRows } from '../../src/core/matrix.ts';
import { heatmap, renderVegaLite } from '../../src/plot/index.ts';
import { projectPoint, scatter3dChart } from '../../src/plot/scatter3d.ts';

const TETRA = [[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]].map((p) => p.map((x) => x / Math.sqrt(3)));

describe('projectPoint', () => {
  it('azimuth 0, elevation 0: x right, z up, the camera on the −y side', () => {
    const r = projectPoint([1, 0, 0], 0, 0);
    expect([r.x, r.y, r.depth + 0]).toEqual([1, 0, 0]);
    const up = projectPoint([0, 0, 1], 0, 0);
    expect([up.x, up.y + 0, up.depth + 0]).toEqual([0, 1, 0]);
    expect(projectPoint([0, -1, 0], 0, 0).depth).toBe(1);
  });

  it('elevation 90 looks down: z towards the camera, y up the screen', () => {
    const z = projectPoint([0, 0, 1], 0, 90);
    expect(z.depth).toBeCloseTo(1, 15);
    expect(projectPoint([0, 1, 0], 0, 90).y).toBeCloseTo(1, 15);
  });

  it('keeps lengths (a rotation) for any view', () => {
    for (const [az, el] of [[35, 20], [-120, 75], [200, -40]] as const) {
      for (const p of [[0.3, -0.5, 0.8], [2, 1, -1]]) {
        const q = projectPoint(p, az, el);
        expect(Math.hypot(q.x, q.y, q.depth)).toBeCloseTo(Math.hypot(p[0]!, p[1]!, p[2]!), 14);
      }
    }
  });
});

describe('scatter3dChart', () => {
  it('renders points, labels and the sphere guides; nearer points drawn later', async () => {
    const spec = scatter3dChart({ title: 'tetrahedron', points: fromRows(TETRA), labels: ['p1', 'p2', 'p3', 'p4'], series: ['a', 'a', 'b', 'b'] });
    const layers = (spec as unknown as { layer: { mark: { type: string }; data: { values: { depth?: number }[] } }[] }).layer;
    expect(layers.map((l) => l.mark.type)).toEqual(['line', 'line', 'rule', 'point', 'text']);
    const depths = layers[3]!.data.values.map((v) => v.depth!);
    expect([...depths].sort((p, q) => p - q)).toEqual(depths);
    const fig = await renderVegaLite(spec);
    for (const s of ['tetrahedron', 'p1', 'p4', 'azimuth 35°']) expect(fig.svg).toContain(s);
    expect(fig.warnings).toEqual([]);
    expect(fig.png.subarray(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47]));
  });

  it('takes plain rows, and leaves out guides on request', () => {
    const spec = scatter3dChart({ title: 't', points: TETRA, sphere: false, spokes: false });
    expect((spec as unknown as { layer: unknown[] }).layer).toHaveLength(1);
  });

  it('refuses bad input', () => {
    expect(() => scatter3dChart({ title: 't', points: [[1, 2]] })).toThrow(ShapeError);
    expect(() => scatter3dChart({ title: 't', points: [] })).toThrow(ShapeError);
    expect(() => scatter3dChart({ title: 't', points: [[1, Number.NaN, 0]] })).toThrow(NonFiniteError);
    expect(() => scatter3dChart({ title: 't', points: TETRA, labels: ['a'] })).toThrow(ConfigError);
    expect(() => scatter3dChart({ title: 't', points: TETRA, elevationDeg: 100 })).toThrow(DomainError);
  });
});

describe('heatmap colour range', () => {
  it('counts an entry as outside only beyond rounding', () => {
    const sub = (m: number[][]) => JSON.stringify((heatmap({ title: 'g', matrix: m, colorDomain: [-1, 1] }) as unknown as { title: unknown }).title);
    expect(sub([[1 + 2e-16, -1 - 2e-16], [0, 1]])).not.toContain('outside');
    expect(sub([[1.1, 0], [0, 1]])).toContain('1 entry outside');
  });
});
