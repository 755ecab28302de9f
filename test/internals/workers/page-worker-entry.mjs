// The page worker for a Piscina pool in the unit tests: worker threads do not inherit tsx's
// loader, and src/workers/worker-file.ts names the built `.js` beside the module, which only
// exists in dist/. This entry loads the TypeScript module and hands Piscina its task functions.
import { tsImport } from 'tsx/esm/api';

const worker = await tsImport(new URL('../../../src/workers/page-worker.ts', import.meta.url).href, import.meta.url);

export const { page, topics, search, pageParts, searchParts, topicsParts, snapshot, close } = worker;
