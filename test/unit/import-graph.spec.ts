import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

/*
 * Layering guard: no import cycle in `lib/`, type-only imports included. A cycle of type imports
 * is erased at runtime today, but the first value edit on one of its edges turns it into an ESM
 * cycle with import-order-dependent TDZ errors (the one design review found ran through the options
 * interface, the engine, its error mapping and the constants file).
 */

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '../../lib');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)\.js'/g;
/** Static imports of packages, type-only ones left out (they are erased). */
const PACKAGE_IMPORT = /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^;]*?\sfrom\s+'([^.'][^']*)'/g;

/** The packages a module loads when it is imported, through its static imports within lib/. */
function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(LIB, file), 'utf8');
    for (const match of text.matchAll(PACKAGE_IMPORT)) packages.add(match[1]!);
    for (const match of text.matchAll(
      /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)\.js'/g,
    )) {
      visit(relative(LIB, resolve(dirname(join(LIB, file)), `${match[1]}.ts`)));
    }
  };
  visit(entry);
  return packages;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sources(LIB)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((match) =>
      relative(LIB, resolve(dirname(file), `${match[1]}.ts`)),
    );
    edges.set(relative(LIB, file), targets);
  }
  return edges;
}

/** Every cycle's path, found by depth-first search from each file. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    const index = path.indexOf(node);
    if (index >= 0) {
      found.push([...path.slice(index), node]);
      return;
    }
    if (done.has(node)) return;
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    done.add(node);
  };
  for (const node of edges.keys()) visit(node, []);
  return found;
}

describe('lib/ import graph', () => {
  it('reads the imports it is meant to guard', () => {
    const edges = graph();
    expect(edges.get('config/esales-options.interface.ts')).toContain(
      'delivery/esales-delivery-hooks.interface.ts',
    );
    expect(edges.get('delivery/delivery-engine.ts')).toContain('delivery/attempt.ts');
  });

  it('has no cycle, type-only imports included', () => {
    expect(cycles(graph())).toEqual([]);
  });

  const OTEL = ['@opentelemetry/api', '@opentelemetry/core'];
  it.each([
    [
      'index.ts',
      [
        '@nestjs/axios',
        'axios',
        '@nestjs/terminus',
        '@nestjs/config',
        'bullmq',
        'ioredis',
        ...OTEL,
      ],
    ],
    [
      'testing.ts',
      [
        '@nestjs/axios',
        'axios',
        '@nestjs/terminus',
        '@nestjs/config',
        'bullmq',
        'ioredis',
        ...OTEL,
      ],
    ],
    ['terminus.ts', ['@nestjs/axios', 'axios', '@nestjs/config', 'bullmq', 'ioredis', ...OTEL]],
    ['config.ts', ['@nestjs/axios', 'axios', '@nestjs/terminus', 'bullmq', 'ioredis', ...OTEL]],
    ['axios.ts', ['bullmq', 'ioredis', ...OTEL]],
    ['bullmq.ts', OTEL],
  ])('entry point %s never loads the optional peers %j', (entry, optional) => {
    const loaded = packagesLoadedBy(entry);
    for (const name of optional) expect([...loaded]).not.toContain(name);
  });

  it("the main entry's types never reference bullmq, ioredis or OpenTelemetry (type-only imports included)", () => {
    const ANY_IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/g;
    const packages = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const match of readFileSync(join(LIB, file), 'utf8').matchAll(ANY_IMPORT)) {
        const target = match[1]!;
        if (!target.startsWith('.')) packages.add(target);
        else
          visit(relative(LIB, resolve(dirname(join(LIB, file)), target.replace(/\.js$/, '.ts'))));
      }
    };
    visit('index.ts');
    expect(seen.size).toBeGreaterThan(20);
    const optional = ['bullmq', 'ioredis', '@opentelemetry/api', '@opentelemetry/core'];
    expect([...packages].filter((name) => optional.includes(name))).toEqual([]);
  });

  it('sees the optional peer an entry point does load', () => {
    expect([...packagesLoadedBy('opentelemetry.ts')]).toContain('@opentelemetry/api');
    expect([...packagesLoadedBy('bullmq.ts')]).toEqual(
      expect.arrayContaining(['bullmq', 'ioredis']),
    );
    expect([...packagesLoadedBy('axios.ts')]).toEqual(
      expect.arrayContaining(['@nestjs/axios', 'axios']),
    );
  });

  it('would report one', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(edges)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
