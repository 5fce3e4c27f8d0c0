#!/usr/bin/env node
// Compatibility check of the packed package: `npm pack` the repo (prepack builds it), then install the
// tarball into each consumer app under test/compat/ and run it. Usage (from the repo root):
//   npm run test:compat        or        node test/compat/run.mjs
// Prints one line per step group and app; child output is shown only when something fails.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const compatDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(compatDir, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const NPM_TIMEOUT_MS = 5 * 60_000;
const BUILD_TIMEOUT_MS = 2 * 60_000;
// The apps fail themselves after 10 s; this only catches a child that ignores its own watchdog.
const RUN_TIMEOUT_MS = 30_000;

/** The consumer apps and how to build and run each after its dependencies are installed. */
const apps = [
  {
    name: 'nest12-esm',
    build: ['node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']],
    run: ['node', ['dist/main.js']],
  },
  {
    name: 'nest11-cjs',
    // Type-check only: typecheck.ts is a CommonJS TypeScript consumer of the package's types, under
    // the starter's nodenext and under node16; main.js runs.
    build: ['node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']],
    extraBuilds: [
      ['node', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.node16.json', '--noEmit']],
    ],
    run: ['node', ['main.js']],
    // The starter's own e2e set-up (Jest 29 + ts-jest, CommonJS), unchanged.
    tests: ['node', ['node_modules/jest/bin/jest.js', '--config', './test/jest-e2e.json']],
  },
];

// Drop the variables `npm run` sets for the root package (npm_package_*, npm_lifecycle_*, npm_config_*
// passed on the command line, …) so they do not leak into the apps' own npm commands.
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
);

/** Runs a command; resolves with its combined output and whether it succeeded. Never rejects. */
function exec(command, args, { cwd, timeoutMs }) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    let output = '';
    let timedOut = false;
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (ok, reason) => {
      clearTimeout(timer);
      resolvePromise({ ok, reason, output, ms: Date.now() - started });
    };
    child.on('error', (error) => finish(false, error.message));
    child.on('close', (code, signal) => {
      if (timedOut) finish(false, `timed out after ${timeoutMs / 1000} s`);
      else if (code === 0) finish(true, '');
      else finish(false, signal ? `killed by ${signal}` : `exit code ${code}`);
    });
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const describe = (command, args) => [command, ...args].join(' ');

function printFailure(label, step, result) {
  console.log(`${label}: FAILED at \`${step}\` (${result.reason})`);
  const output = result.output.trimEnd();
  if (output) console.log(output.replace(/^/gm, '  | '));
}

async function checkApp(app, tarball) {
  const cwd = join(compatDir, app.name);
  const label = `compat ${app.name}`;
  const started = Date.now();
  const steps = [
    [npm, ['ci', '--no-audit', '--no-fund'], NPM_TIMEOUT_MS],
    [npm, ['install', '--no-save', '--no-audit', '--no-fund', tarball], NPM_TIMEOUT_MS],
    ...(app.build ? [[...app.build, BUILD_TIMEOUT_MS]] : []),
    ...(app.extraBuilds ?? []).map((build) => [...build, BUILD_TIMEOUT_MS]),
  ];
  for (const [command, args, timeoutMs] of steps) {
    const result = await exec(command, args, { cwd, timeoutMs });
    if (!result.ok) {
      printFailure(label, describe(command, args), result);
      return false;
    }
  }
  const [command, args] = app.run;
  const result = await exec(command, args, { cwd, timeoutMs: RUN_TIMEOUT_MS });
  const lines = result.output.trimEnd().split('\n');
  // Success means exit 0 and exactly the one expected line: a warning printed by Node counts as noise
  // worth seeing, so it is shown (without failing the check).
  if (!result.ok) {
    printFailure(label, describe(command, args), result);
    return false;
  }
  if (app.tests) {
    const [testCommand, testArgs] = app.tests;
    const tested = await exec(testCommand, testArgs, { cwd, timeoutMs: BUILD_TIMEOUT_MS });
    if (!tested.ok) {
      printFailure(label, describe(testCommand, testArgs), tested);
      return false;
    }
  }
  if (lines.length !== 1 || lines[0] !== `${label}: ok`) {
    console.log(`${label}: ok, with extra output (${seconds(Date.now() - started)}):`);
    console.log(result.output.trimEnd().replace(/^/gm, '  | '));
  } else {
    console.log(`${label}: ok (${seconds(Date.now() - started)})`);
  }
  return true;
}

async function main() {
  const started = Date.now();
  const tmp = await mkdtemp(join(tmpdir(), 'nestjs-esales-compat-'));
  try {
    const pack = await exec(npm, ['pack', '--pack-destination', tmp], {
      cwd: repoRoot,
      timeoutMs: NPM_TIMEOUT_MS,
    });
    if (!pack.ok) {
      printFailure('compat pack', `npm pack --pack-destination ${tmp}`, pack);
      return false;
    }
    const tarballs = (await readdir(tmp)).filter((file) => file.endsWith('.tgz'));
    if (tarballs.length !== 1) {
      printFailure('compat pack', 'npm pack', {
        ...pack,
        reason: `expected one .tgz, found ${tarballs.length}`,
      });
      return false;
    }
    const tarball = join(tmp, tarballs[0]);
    console.log(`compat pack: ${tarballs[0]} (${seconds(pack.ms)})`);

    let allOk = true;
    for (const app of apps) {
      if (!(await checkApp(app, tarball))) allOk = false;
    }
    console.log(`compat: ${allOk ? 'all ok' : 'FAILED'} (${seconds(Date.now() - started)})`);
    return allOk;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(`compat: FAILED: ${error?.stack ?? error}`);
    process.exit(1);
  },
);
