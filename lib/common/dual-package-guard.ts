/**
 * The dual-package hazard: the package ships an ESM build and a CommonJS build, and a process that
 * loads both gets two `EsalesModule` classes, two sets of DI tokens and two services that do not
 * know each other. An app only ever loads one (`import` resolves to the ESM build, `require` to the
 * CommonJS one); this catches the mixed case at once instead of as a confusing DI error later.
 */
const LOADED = Symbol.for('nestjs-esales.loaded-build');

/** Which build this file belongs to: `__filename` exists in CommonJS only. */
const FORMAT = typeof __filename === 'string' ? 'commonjs' : 'esm';

export function noteBuildLoaded(): void {
  const registry = globalThis as { [LOADED]?: string };
  const other = registry[LOADED];
  if (other === undefined) {
    registry[LOADED] = FORMAT;
    return;
  }
  if (other === FORMAT) return;
  process.emitWarning(
    `nestjs-esales was loaded both as ${other} and as ${FORMAT} in one process: its DI tokens and ` +
      'classes now exist twice, so an EsalesModule from one build does not provide what the other ' +
      'build\'s classes inject. Load it one way only (see the README\'s "CommonJS and ESM").',
    { code: 'NESTJS_ESALES_DUAL_PACKAGE' },
  );
}
