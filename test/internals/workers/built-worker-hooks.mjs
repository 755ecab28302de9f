// A module resolution hook (node:module register) for the unit tests: every src module asking for
// `./worker-file.js` gets built-worker-file.mjs instead, so the Piscina pools they make start the
// built worker entries in dist/ rather than src/workers/*.js, which does not exist.
const replacement = new URL('./built-worker-file.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === './worker-file.js' && context.parentURL?.includes('/src/workers/')) return { url: replacement, shortCircuit: true };
  return nextResolve(specifier, context);
}
