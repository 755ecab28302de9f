import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from './paths.js';

/** The parts of a V8 .cpuprofile (node --cpu-prof) the summary reads. */
interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Frame {
  /** `function (file:line)`, the file relative to the repo (node_modules paths shortened). */
  readonly frame: string;
  readonly selfMs: number;
  /** Share of the profile's non-idle time. */
  readonly selfShare: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** `main thread` or `worker thread <n>`, from node's file name CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile. */
  readonly thread: string;
  readonly totalMs: number;
  /** (idle) plus time blocked waiting for work (a Piscina worker's Atomics.wait loop). */
  readonly idleMs: number;
  readonly top: readonly Frame[];
}

function location(url: string, line: number): string {
  if (url === '') return '';
  let path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) path = path.slice(modules + '/node_modules/'.length);
  else if (path.startsWith('/')) path = relative(repoRoot, path);
  return ` (${path}:${line + 1})`;
}

/** Frames that only block waiting for work: V8 charges the time to them, but the thread is idle. */
const waitingFrames = new Set(['(idle)', 'atomicsWaitLoop']);

function threadOf(file: string): string {
  const match = /\.(\d+)\.\d+\.cpuprofile$/.exec(file);
  if (!match) return 'thread ?';
  return match[1] === '0' ? 'main thread' : `worker thread ${match[1]}`;
}

/** Self time per frame (function + file + line), summed over the profile's samples. */
export async function summariseProfile(file: string, topN = 10): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const frameOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    frameOf.set(node.id, `${functionName || '(anonymous)'}${location(url, lineNumber)}`);
  }
  const self = new Map<string, number>();
  const waiting = new Set<string>();
  for (const node of profile.nodes) if (waitingFrames.has(node.callFrame.functionName)) waiting.add(frameOf.get(node.id)!);
  let totalUs = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    const delta = profile.timeDeltas[index] ?? 0;
    const frame = frameOf.get(profile.samples[index]!) ?? '(unknown)';
    self.set(frame, (self.get(frame) ?? 0) + delta);
    totalUs += delta;
  }
  let idleUs = 0;
  for (const frame of waiting) idleUs += self.get(frame) ?? 0;
  const busyUs = totalUs - idleUs;
  const top = [...self]
    .filter(([frame]) => !waiting.has(frame))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, selfShare: busyUs > 0 ? us / busyUs : 0 }));
  return { file, thread: threadOf(file), totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}

/** Every .cpuprofile under `dir` (one subdir per service run), summarised. */
export async function summariseProfiles(dir: string, topN = 10): Promise<ProfileSummary[]> {
  const files: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.cpuprofile')) files.push(path);
    }
  };
  await walk(dir);
  return Promise.all(files.sort().map((file) => summariseProfile(file, topN)));
}

const displayPath = (file: string): string => (file.startsWith(`${repoRoot}/`) ? relative(repoRoot, file) : file);

/** A Markdown table of one profile's top frames. */
export function formatProfile(summary: ProfileSummary): string {
  const busy = summary.totalMs - summary.idleMs;
  const lines = [
    `${summary.thread}, ${displayPath(summary.file)}: ${(summary.totalMs / 1000).toFixed(1)} s profiled, ` +
      `${(busy / 1000).toFixed(1)} s busy (${summary.totalMs > 0 ? ((busy / summary.totalMs) * 100).toFixed(0) : 0}%; the rest idle or waiting for work)`,
    '',
    '| self ms | % of busy | frame |',
    '|--------:|----------:|-------|',
    ...summary.top.map((frame) => `| ${frame.selfMs.toFixed(0)} | ${(frame.selfShare * 100).toFixed(1)}% | \`${frame.frame}\` |`),
  ];
  return lines.join('\n');
}
