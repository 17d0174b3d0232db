import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    // The bundled declarations drop the sources' `/// <reference types>`; without it a user's
    // TypeScript cannot name GPUBuffer and the like (@webgpu/types comes with the webgpu package).
    dts: { banner: '/// <reference types="@webgpu/types" />' },
    sourcemap: true,
    clean: true,
    target: 'node20',
    // fp-ts's subpath modules (fp-ts/Either) are not resolvable by Node's ESM loader; bundle them.
    noExternal: ['fp-ts'],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    noExternal: ['fp-ts'],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
