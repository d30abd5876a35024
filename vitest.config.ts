import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Builds src/backend/cpu/wasm/kernels.generated.ts from the AssemblyScript sources when stale.
    globalSetup: ['tests/globalSetup.ts'],
    // No test may depend on wall-clock speed: CI runners and developer machines can be loaded
    // several times over (load average 8 on 2 cores has been seen), and vitest's 5 s / 10 s
    // defaults then fail correct tests. Every test that can take over ~1 s on a loaded machine
    // also carries its own timeout of at least 10x its measured time; these are the floor.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
