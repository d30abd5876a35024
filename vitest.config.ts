import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Builds src/backend/cpu/wasm/kernels.generated.ts from the AssemblyScript sources when stale.
    globalSetup: ['tests/globalSetup.ts'],
  },
});
