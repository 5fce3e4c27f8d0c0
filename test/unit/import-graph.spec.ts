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

  it('would report one', () => {
    const edges = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(edges)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
