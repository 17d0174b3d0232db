import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
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
