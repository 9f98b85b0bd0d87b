import { loadConfig } from '@app/config';
import { applyMigrations } from '@app/prisma';

/** `npm run db:migrate`: applies pending migrations to the configured database and says what it did. */
function main(): void {
  const config = loadConfig();
  const report = applyMigrations(config.database.filePath);
  const applied = report.applied.length > 0 ? report.applied.join(', ') : 'none';
  process.stdout.write(`Database ${config.database.filePath}: applied ${applied}; ${report.alreadyApplied.length} already applied\n`);
  for (const name of report.modified) {
    process.stdout.write(`Warning: migration ${name} was changed after it was applied; it is not re-run\n`);
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
