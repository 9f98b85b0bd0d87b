/**
 * SQLite's "database is locked" as Prisma reports it (the driver's `SQLITE_BUSY` underneath, P1008
 * when the driver's code is not at hand): another process (cursor-runner) holds the shared file's
 * write lock. A write that failed so did not happen, and may be made again.
 */
export function isDatabaseBusy(exception: unknown): boolean {
  const error = exception as { name?: unknown; code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (typeof error !== 'object' || error === null || typeof error.name !== 'string' || !error.name.startsWith('PrismaClient')) return false;
  const driverCode = error.meta?.driverAdapterError?.cause?.originalCode;
  return typeof driverCode === 'string' ? driverCode.startsWith('SQLITE_BUSY') : error.code === 'P1008';
}
