/**
 * Prints the top self-time frames of CPU profiles written by `npm run bench -- --profile`.
 * Usage: node --import tsx bench/profile-top.ts <dir or .cpuprofile> [--top 10]
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatProfile, summariseProfile, summariseProfiles } from './lib/cpu-profile.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '10' } } });
const target = positionals[0];
if (target === undefined) {
  process.stderr.write('usage: node --import tsx bench/profile-top.ts <dir or .cpuprofile> [--top 10]\n');
  process.exit(1);
}
const topN = Number(values.top);
const summaries = (await stat(target)).isDirectory() ? await summariseProfiles(target, topN) : [await summariseProfile(target, topN)];
for (const summary of summaries) process.stdout.write(`${formatProfile(summary)}\n\n`);
