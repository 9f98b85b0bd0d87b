/**
 * SQLite's "database is locked" as Prisma reports it (the driver's `SQLITE_BUSY` underneath, P1008
 * when the driver's code is not at hand): another process (cursor-runner) holds the shared file's
 * write lock. A write that failed so did not happen, and may be made again.
 */
export function isDatabaseBusy(exception: unknown): boolean {
  if (exception instanceof DatabaseBusyError) return true;
  const error = exception as { name?: unknown; code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (typeof error !== 'object' || error === null || typeof error.name !== 'string' || !error.name.startsWith('PrismaClient')) return false;
  const driverCode = error.meta?.driverAdapterError?.cause?.originalCode;
  return typeof driverCode === 'string' ? driverCode.startsWith('SQLITE_BUSY') : error.code === 'P1008';
}

/**
 * A write that waited all of `PrismaService.whileLocked`'s time for its turn behind other writes,
 * held up by another process's write lock, without trying: it did not happen, as a write refused by SQLite.
 */
export class DatabaseBusyError extends Error {
  override readonly name = 'DatabaseBusyError';

  constructor() {
    super('The database is busy: another process holds its write lock, and the writes before this one waited for it');
  }
}
