#!/usr/bin/env node
// Removes from a production node_modules (after `npm prune --omit=dev`) what the running service
// never loads, for the Docker image's runtime stage:
// - packages reachable from package.json's dependencies only through optional peer dependencies.
//   npm keeps those (`--omit=peer` too): @prisma/client names `prisma` and `typescript` as optional
//   peers, so the Prisma CLI with its studio, dev server and TypeScript (~290 MB) survive the prune.
//   Migrations are plain SQL the app applies itself; nothing at run time needs the CLI;
// - @prisma/client ships a query compiler per database, each in four encodings, with source maps;
//   the generated client loads only the SQLite one, as CommonJS (`query_compiler_fast_bg.sqlite.*`);
// - better-sqlite3 keeps its C sources and object files after compiling; only the addon and lib/ run;
// - type declarations and source maps anywhere.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(process.argv[2] ?? '.');
const modules = path.join(root, 'node_modules');
let removedBytes = 0;

function remove(target) {
  if (!fs.existsSync(target)) return;
  const stat = fs.lstatSync(target);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(target)) remove(path.join(target, entry));
    fs.rmdirSync(target);
    return;
  }
  removedBytes += stat.size;
  fs.unlinkSync(target);
}

function walk(folder, visit) {
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) walk(full, visit);
    else visit(full, entry.name);
  }
}

/** The folder `name` resolves to from `fromFolder`, the way Node looks up node_modules. */
function resolvePackage(name, fromFolder) {
  for (let folder = fromFolder; ; folder = path.dirname(folder)) {
    const candidate = path.join(folder, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (folder === root || folder === path.dirname(folder)) return undefined;
  }
}

/** Every package folder the app can load: dependencies, optional ones and required peers, transitively. */
function reachablePackages() {
  const reached = new Set();
  const queue = [root];
  while (queue.length > 0) {
    const folder = queue.pop();
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'));
    const optionalPeers = manifest.peerDependenciesMeta ?? {};
    const names = [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optionalPeers[name]?.optional),
    ];
    for (const name of names) {
      const found = resolvePackage(name, folder);
      if (found && !reached.has(found)) {
        reached.add(found);
        queue.push(found);
      }
    }
  }
  return reached;
}

/** Removes every installed package folder that is not reachable (nested node_modules included). */
function removeUnreachable(reached, folder) {
  if (!fs.existsSync(folder)) return;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const full = path.join(folder, entry.name);
    if (entry.name.startsWith('@')) {
      removeUnreachable(reached, full);
      if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
    } else if (!reached.has(full)) {
      remove(full);
    } else {
      removeUnreachable(reached, path.join(full, 'node_modules'));
    }
  }
}

removeUnreachable(reachablePackages(), modules);
remove(path.join(modules, '.bin'));

const prismaRuntime = path.join(modules, '@prisma', 'client', 'runtime');
if (fs.existsSync(prismaRuntime)) {
  for (const name of fs.readdirSync(prismaRuntime)) {
    const otherDatabase = name.startsWith('query_compiler_') && !/^query_compiler_fast_bg\.sqlite\.(js|wasm-base64\.js)$/.test(name);
    if (otherDatabase || name.endsWith('.mjs')) remove(path.join(prismaRuntime, name));
  }
}

const sqlite = path.join(modules, 'better-sqlite3');
if (fs.existsSync(sqlite)) {
  for (const name of ['deps', 'src']) remove(path.join(sqlite, name));
  const build = path.join(sqlite, 'build');
  if (fs.existsSync(build)) {
    for (const name of fs.readdirSync(build)) if (name !== 'Release') remove(path.join(build, name));
    const release = path.join(build, 'Release');
    for (const name of fs.readdirSync(release)) if (name !== 'better_sqlite3.node') remove(path.join(release, name));
  }
}

walk(modules, (file, name) => {
  if (/\.(d\.ts|d\.mts|d\.cts|map)$/.test(name)) remove(file);
});

process.stdout.write(`slim-runtime-modules: removed ${(removedBytes / 1e6).toFixed(1)} MB from ${modules}\n`);
