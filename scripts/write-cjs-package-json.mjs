// Part of `npm run build`: marks dist/cjs as CommonJS (the package itself is "type": "module"), so
// Node and TypeScript read dist/cjs/**/*.js and .d.ts as CommonJS.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n');
