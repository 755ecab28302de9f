import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const packageJson = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export default defineConfig([
  // Each thread's entry point is its own bundle: the main thread loads dist/main.js,
  // Piscina loads the worker files by path, so they must exist as separate files.
  {
    entry: {
      main: 'src/main.ts',
      index: 'src/index.ts',
      'shard-worker': 'src/workers/shard-worker.ts',
      'page-worker': 'src/workers/page-worker.ts',
      publisher: 'src/publisher/cli.ts',
      consumer: 'src/consumer/cli.ts',
      demo: 'src/publisher/demo.ts',
      // The client library, `exactly-once-aggregator/client` in package.json's "exports".
      client: 'src/client-library.ts',
    },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    outDir: 'dist',
    // The dashboard bundle below builds into dist/dashboard at the same time: leave it alone.
    clean: ['!dashboard/**'],
    sourcemap: true,
    splitting: true,
    // Types for the one entry other programs import; one bundled file (dist/client.d.ts), which
    // needs only node's types and @sinclair/typebox (a dependency) for the stored event's shape.
    dts: { entry: { client: 'src/client-library.ts' } },
    // GET / reports the package it was built from (src/dashboard/service-info.ts).
    define: { __AGGREGATOR_PACKAGE__: JSON.stringify({ name: packageJson.name, version: packageJson.version }) },
  },
  // The browser dashboard: one self-contained bundle per page (uPlot and its CSS included), read
  // once by the server at start (src/dashboard/assets.ts), so nothing is fetched from node_modules
  // or a CDN at run time.
  {
    entry: { app: 'src/dashboard/client/app.ts', docs: 'src/dashboard/client/docs.ts' },
    format: ['esm'],
    target: 'es2022',
    platform: 'browser',
    tsconfig: 'src/dashboard/client/tsconfig.json',
    outDir: 'dist/dashboard',
    clean: true,
    minify: true,
    sourcemap: false,
    splitting: false,
    dts: false,
  },
]);
