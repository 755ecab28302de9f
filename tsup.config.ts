import { defineConfig } from 'tsup';

// Each thread's entry point is its own bundle: the main thread loads dist/main.js,
// Piscina loads the worker files by path, so they must exist as separate files.
export default defineConfig({
  entry: {
    main: 'src/main.ts',
    index: 'src/index.ts',
    'shard-worker': 'src/workers/shard-worker.ts',
    'reader-worker': 'src/workers/reader-worker.ts',
    publisher: 'src/publisher/cli.ts',
    demo: 'src/publisher/demo.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  splitting: true,
  dts: false,
});
