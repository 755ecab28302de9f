#!/usr/bin/env node
/**
 * Adds lock entries for platform-specific optional packages that npm left out.
 *
 * The registry these machines reach does not serve every platform build (e.g. rollup's darwin or
 * musl binaries), so `npm install` writes a package-lock.json without entries for them, and
 * `npm ci` then refuses the lock ("Missing: @rollup/rollup-darwin-arm64@ from lock file").
 * An entry with the package's os/cpu/libc is enough: npm ci sees the platform does not match and
 * never fetches it. Run after any `npm install` that changes the lock: `node scripts/complete-lockfile.mjs`.
 * With `--check` it only reports what is missing and exits 1 if anything is (the test suite does this).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const oses = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32'];
const cpus = ['arm64', 'x64', 'arm', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((part) => oses.includes(part));
  const cpu = parts.find((part) => cpus.includes(part)) ?? (parts.includes('gnueabihf') || parts.includes('musleabihf') ? 'arm' : undefined);
  const libc = parts.some((part) => part.startsWith('musl')) ? 'musl' : parts.some((part) => part.startsWith('gnu')) && os === 'linux' ? 'glibc' : undefined;
  return { os, cpu, libc };
}

/** Where npm would look for `name` required from the package at `from`: nested first, then hoisted. */
function resolves(from, name) {
  for (let base = from; ; ) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('node_modules/');
    base = cut <= 0 ? '' : base.slice(0, cut - 1);
  }
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    if (resolves(location, name)) continue;
    const { os, cpu, libc } = platformOf(name);
    if (!os || !cpu) {
      console.error(`cannot tell the platform of optional ${name} (wanted by ${location || 'the root'}); add it by hand`);
      process.exitCode = 1;
      continue;
    }
    packages[`node_modules/${name}`] = {
      version: spec.replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(libc ? { libc: [libc] } : {}),
    };
    added++;
  }
}
const check = process.argv.includes('--check');
if (check) {
  if (added > 0) {
    console.error(`package-lock.json lacks ${added} platform entr${added === 1 ? 'y' : 'ies'}: run node scripts/complete-lockfile.mjs`);
    process.exitCode = 1;
  }
} else {
  writeLock();
}

function writeLock() {
  // npm keeps the root entry first and the rest in path order.
  const byPath = ([left], [right]) => (left === '' ? -1 : right === '' ? 1 : left < right ? -1 : left > right ? 1 : 0);
  lock.packages = Object.fromEntries(Object.entries(packages).sort(byPath));
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`package-lock.json: ${added} platform entr${added === 1 ? 'y' : 'ies'} added`);
}
