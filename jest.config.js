/**
 * Jest in native ESM mode (`node --experimental-vm-modules`, see `npm test`), with ts-jest
 * transpiling TypeScript per file (`isolatedModules` in tsconfig.json); `npm run typecheck` does
 * the type checking.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Sources import siblings as `./x.js` (NodeNext); Jest resolves the `.ts` file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // test/readme's scratch consumers hold an e2e spec of the README's while the check runs.
  testPathIgnorePatterns: ['/node_modules/', '/test/compat/', '/test/readme/'],
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  testTimeout: 20_000,
};
