/**
 * The backend contract suite (tests/backend/contract.ts, unchanged) on the gpujs backend, without
 * vitest (pack.sh aliases vitest to mini-vitest.ts): for the device machine.
 *
 *   node .devbundle/app/contract-gpujs.mjs      (under scripts/device/run.sh)
 */
import { createGpujsBackend, describeGpujs } from '../../src/backend/gpujs/index.ts';
import { runBackendContract } from '../../tests/backend/contract.ts';
import { runCollected } from './mini-vitest.ts';

const probe = createGpujsBackend();
console.log(describeGpujs(probe), JSON.stringify(probe.info));
probe.dispose();
runBackendContract('gpujs default tiles', () => createGpujsBackend(), { dtypes: ['f32'] });
runBackendContract('gpujs tile=16 lseTile=7', () => createGpujsBackend({ tile: 16, lseTile: 7 }), { dtypes: ['f32'] });
runBackendContract('gpujs vec4: false tile=16 lseTile=7', () => createGpujsBackend({ vec4: false, tile: 16, lseTile: 7 }), { dtypes: ['f32'] });
const [, failed] = await runCollected();
process.exitCode = failed > 0 ? 1 : 0;
