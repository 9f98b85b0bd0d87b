/** Prisma's P2025: the row an `update` or a `delete` named does not exist, so nothing was written. */
export function isRecordNotFound(exception: unknown): boolean {
  const error = exception as { name?: unknown; code?: unknown } | null;
  return typeof error === 'object' && error !== null && error.name === 'PrismaClientKnownRequestError' && error.code === 'P2025';
}
