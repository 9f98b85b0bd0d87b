// ESLint 9 flat config: typescript-eslint with type information, and the import boundaries of
// docs/architecture.md ("Layout") as import-x/no-restricted-paths zones.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = path.dirname(fileURLToPath(import.meta.url));
const SRC = 'apps/api/src';
const ADAPTERS = `${SRC}/adapters`;

const foldersIn = (dir) =>
  readdirSync(path.join(root, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${dir}/${entry.name}`);

const adapters = foldersIn(ADAPTERS);
const features = foldersIn(SRC).filter((folder) => folder !== ADAPTERS);
const libs = foldersIn('libs').map((lib) => `${lib}/src`);
const units = [...features, ...adapters];

const zones = [
  { target: './libs/**', from: './apps/**', message: 'libs know no app.' },
  { target: ['./apps/**', './libs/**'], from: './bench', message: 'Benchmarks use the app, never the other way round.' },
  ...adapters.flatMap((adapter) =>
    features.map((feature) => ({
      target: `./${adapter}/**`,
      from: `./${feature}`,
      message: 'An adapter knows no feature: it may import libs and nothing of apps/api/src outside itself.',
    })),
  ),
  ...adapters.flatMap((adapter) =>
    adapters
      .filter((other) => other !== adapter)
      .map((other) => ({ target: `./${adapter}/**`, from: `./${other}`, message: 'An adapter knows no other adapter.' })),
  ),
  // A feature, an adapter or a lib is used from outside only through its index.ts (for libs: `@app/<name>`).
  ...units.flatMap((unit) =>
    [...units.filter((other) => other !== unit), `${SRC}/*.ts`, 'test', 'bench'].map((target) => ({
      target: target.endsWith('.ts') ? `./${target}` : `./${target}/**`,
      from: `./${unit}`,
      except: ['./index.ts'],
      message: `Import ${unit} through its index.ts.`,
    })),
  ),
  // Apps use a lib only through its index; its own int-specs and the benchmarks may reach inside.
  ...libs.map((lib) => ({
    target: './apps/**',
    from: `./${lib}`,
    except: ['./index.ts'],
    message: `Import ${lib} as @app/${lib.split('/')[1]}, its index.ts.`,
  })),
];

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'libs/prisma/src/generated/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: path.join(root, 'tsconfig.json') })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones }],
      // A fake server's handler refers to the fake it is built before: read in a closure, assigned once.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // tsc's noUnusedLocals/noUnusedParameters (npm run typecheck) already rule these out, and unlike
      // this rule they count a `{@link X}` in a doc comment as a use of an imported X.
      '@typescript-eslint/no-unused-vars': 'off',
      // An async method implementing a promise-returning port without awaiting is deliberate: it turns
      // a synchronous throw into a rejection, which callers of the port rely on.
      '@typescript-eslint/require-await': 'off',
      // `any` reaches this code only where the platform hands it out (JSON.parse, reflect-metadata,
      // Nest's interceptor stream) and is narrowed right there; strict TypeScript covers the rest.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Specs hand jest mocks of methods to expect(): a mock has no `this` to lose.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/support/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // libs/cache, libs/outbound-http and bench are being reworked (issues 16, 17 and 21) while this
    // config lands (issue 12); their redundant assertions go with that work, and then this block too.
    files: ['libs/cache/**/*.ts', 'libs/outbound-http/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-unnecessary-type-assertion': 'off' },
  },
);
