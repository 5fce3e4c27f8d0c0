#!/usr/bin/env node
// README code check: every ```ts block of README.md is either complete (its imports included) or
// marked ```ts fragment. The complete ones are type-checked against the built package (npm run
// build first), as a consumer sees it through its `exports`: once as an ESM app ("type": "module",
// module nodenext, like a Nest 12 app) and once as a CommonJS app ("type": "commonjs", module node16,
// like many Nest 11 apps), with the Nest starters' strict settings. A block that starts with a
// `// name.ts` comment is written to that file, so blocks can import each other (the Quick start's
// two modules); the others become block-<line>.ts. Usage: node test/readme/check-readme.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The ts blocks: info string, line, and body dedented by the fence's own indent. */
const blocks = [];
const fence = /^( *)```(ts[^\n]*)\n([\s\S]*?)^\1```$/gm;
for (const match of readme.matchAll(fence)) {
  const [, indent, info, body] = match;
  const line = readme.slice(0, match.index).split('\n').length;
  const text = body
    .split('\n')
    .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
    .join('\n');
  blocks.push({ info: info.trim(), line, text });
}
// Code that would escape the check: another spelling of TypeScript, or a ~~~ fence.
const escaping = [
  ...readme.matchAll(/^ *(?:```|~~~)(typescript|tsx?|js|javascript)?\b.*$/gm),
].filter(
  (match) => match[0].includes('~~~') || /typescript|tsx|javascript|\bjs\b/.test(match[1] ?? ''),
);
if (escaping.length > 0) {
  console.log(
    `readme: code blocks the check would not see: ${escaping.map((m) => m[0].trim()).join(', ')}`,
  );
  process.exit(1);
}
const complete = blocks.filter((b) => b.info === 'ts');
const fragments = blocks.filter((b) => b.info === 'ts fragment');
const unknown = blocks.filter((b) => b.info !== 'ts' && b.info !== 'ts fragment');
if (unknown.length > 0) {
  console.log(
    `readme: unknown code block kinds: ${unknown.map((b) => `${b.info} (line ${b.line})`).join(', ')}`,
  );
  process.exit(1);
}

const COMPILER_OPTIONS = {
  strict: true,
  target: 'ES2023',
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  isolatedModules: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
};
// Each consumer lives where its framework versions are installed, so the other packages resolve
// from there. The ESM one sits beside the repo's own node_modules (Nest 12) and sees the built
// package through a link, through its package.json `exports` like any installed one. The CommonJS
// one sits inside the Nest 11 compat app and uses the packed tarball `npm run test:compat`
// installed there (run that first): a link would resolve the package's own imports from the
// repo's Nest 12 packages.
const consumers = [
  { name: 'esm (Nest 12)', dir: join(here, '.check-esm'), type: 'module', module: 'nodenext' },
  {
    name: 'CommonJS (Nest 11)',
    dir: join(root, 'test', 'compat', 'nest11-cjs', '.readme-check'),
    type: 'commonjs',
    module: 'node16',
    needs: join(root, 'test', 'compat', 'nest11-cjs', 'node_modules', 'nestjs-esales'),
    installed: true,
  },
];

let failed = false;
for (const consumer of consumers) {
  const { dir } = consumer;
  if (consumer.needs && !existsSync(consumer.needs)) {
    console.log(`readme: ${consumer.needs} is missing: run npm run test:compat first`);
    process.exit(1);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  if (!consumer.installed) symlinkSync(root, join(dir, 'node_modules', 'nestjs-esales'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: consumer.type }));
  const files = complete.map((block) => {
    const named = /^\/\/ ([\w.-]+\.ts)\n/.exec(block.text);
    return { block, file: named ? named[1] : `block-${block.line}.ts` };
  });
  const names = files.map((f) => f.file);
  const twice = names.filter((name, i) => names.indexOf(name) !== i);
  if (complete.length === 0 || twice.length > 0) {
    console.log(
      complete.length === 0
        ? 'readme: no complete ts block found: nothing would be checked'
        : `readme: two blocks claim the same file: ${twice.join(', ')}`,
    );
    process.exit(1);
  }
  for (const { block, file } of files) writeFileSync(join(dir, file), block.text);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        ...COMPILER_OPTIONS,
        module: consumer.module,
        moduleResolution: consumer.module,
      },
      files: names,
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir],
    {
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) {
    failed = true;
    console.log(`readme: the complete blocks do not compile as an ${consumer.name} consumer:`);
    console.log((tsc.stdout + tsc.stderr).trimEnd().replace(/^/gm, '  | '));
  }
  // Never left behind: it holds a *.e2e-spec.ts that Jest and the repo's tsconfig would pick up.
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `readme: ${complete.length} complete ts blocks ${failed ? 'FAILED' : 'compile'} as ESM and CommonJS ` +
    `consumers; ${fragments.length} marked as fragments`,
);
process.exit(failed ? 1 : 0);
