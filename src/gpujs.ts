/**
 * contrastlab/gpujs: the gpu.js backend (float32, WebGL through headless-gl). gpu.js is installed on
 * request (not a dependency), loaded only when a backend is created; without it createGpujsBackend throws a
 * BackendUnavailableError naming the install command.
 */
export { createGpujsBackend, describeGpujs, GPUJS_MODES, type GpujsBackend, type GpujsBackendOptions, type GpujsMode } from './backend/gpujs/index.ts';
