import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'slim-runtime-modules.js');

/** Writes `files` (path → content) under a new temporary folder and returns it. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-slim-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}

const manifest = (fields: Record<string, unknown>) => JSON.stringify({ version: '1.0.0', ...fields });

describe('scripts/slim-runtime-modules.js (the Docker runtime stage)', () => {
  it('keeps what the dependencies reach, drops what only optional peers reach, and files nothing loads', () => {
    const root = tree({
      'package.json': manifest({ name: 'app', dependencies: { '@prisma/client': '7', 'better-sqlite3': '12' } }),
      'node_modules/@prisma/client/package.json': manifest({
        name: '@prisma/client',
        dependencies: { '@prisma/client-runtime-utils': '7' },
        peerDependencies: { prisma: '*', typescript: '>=5', 'required-peer': '1' },
        peerDependenciesMeta: { prisma: { optional: true }, typescript: { optional: true } },
      }),
      'node_modules/@prisma/client/runtime/client.js': 'client',
      'node_modules/@prisma/client/runtime/client.js.map': 'map',
      'node_modules/@prisma/client/runtime/client.d.ts': 'types',
      'node_modules/@prisma/client/runtime/query_compiler_fast_bg.sqlite.js': 'sqlite',
      'node_modules/@prisma/client/runtime/query_compiler_fast_bg.sqlite.wasm-base64.js': 'sqlite wasm',
      'node_modules/@prisma/client/runtime/query_compiler_fast_bg.sqlite.mjs': 'sqlite esm',
      'node_modules/@prisma/client/runtime/query_compiler_fast_bg.postgresql.js': 'postgresql',
      'node_modules/@prisma/client/runtime/query_compiler_small_bg.sqlite.js': 'small',
      'node_modules/@prisma/client-runtime-utils/package.json': manifest({ name: '@prisma/client-runtime-utils' }),
      'node_modules/required-peer/package.json': manifest({ name: 'required-peer' }),
      'node_modules/prisma/package.json': manifest({ name: 'prisma', dependencies: { '@prisma/studio-core': '1' } }),
      'node_modules/@prisma/studio-core/package.json': manifest({ name: '@prisma/studio-core' }),
      'node_modules/typescript/package.json': manifest({ name: 'typescript' }),
      'node_modules/better-sqlite3/package.json': manifest({ name: 'better-sqlite3', dependencies: { bindings: '1' } }),
      'node_modules/better-sqlite3/lib/index.js': 'lib',
      'node_modules/better-sqlite3/deps/sqlite3.c': 'source',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node': 'addon',
      'node_modules/better-sqlite3/build/Release/obj.target/sqlite3.o': 'object',
      'node_modules/better-sqlite3/build/Makefile': 'make',
      'node_modules/better-sqlite3/node_modules/bindings/package.json': manifest({ name: 'bindings' }),
      'node_modules/bindings/package.json': manifest({ name: 'bindings', version: '0.9.0' }),
    });
    execFileSync(process.execPath, [SCRIPT, root]);

    const left = (folder: string): string[] =>
      fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(folder, entry.name);
        return entry.isDirectory() ? left(full) : [path.relative(path.join(root, 'node_modules'), full)];
      });
    expect(left(path.join(root, 'node_modules')).sort()).toEqual([
      '@prisma/client-runtime-utils/package.json',
      '@prisma/client/package.json',
      '@prisma/client/runtime/client.js',
      '@prisma/client/runtime/query_compiler_fast_bg.sqlite.js',
      '@prisma/client/runtime/query_compiler_fast_bg.sqlite.wasm-base64.js',
      'better-sqlite3/build/Release/better_sqlite3.node',
      'better-sqlite3/lib/index.js',
      'better-sqlite3/node_modules/bindings/package.json',
      'better-sqlite3/package.json',
      'required-peer/package.json',
    ]);
  });
});
