/**
 * One library of `npm run bench:api` in a process of its own, so that no library's garbage is
 * collected in another's measurement (docs/benchmarks.md, "Programmatic cache APIs"):
 *
 *   node -r @swc-node/register bench/cache-api-process.ts <index in LIBRARIES>
 *
 * Sets the library up against BENCH_REDIS_URL under BENCH_KEY_PREFIX, fills it, reports
 * `{ ready: true }` to its parent over IPC, then answers each `{ measurement, round }` with
 * `{ record, wrongAnswers }`: the record of that measurement (bench/cache-api-libraries.ts) and the
 * wrong answers so far. Closes the library and exits when the parent disconnects.
 */
import { LIBRARIES, MEASUREMENTS, prepare, wrongAnswers } from './cache-api-libraries';

export interface MeasurementRequest {
  measurement: number;
  round: number;
}

export interface MeasurementReply {
  record: Record<string, number>;
  wrongAnswers: number;
}

async function main(): Promise<void> {
  const library = LIBRARIES[Number(process.argv[2])];
  if (!library) throw new Error(`no library at index "${process.argv[2]}"; 0 to ${LIBRARIES.length - 1}`);
  const cache = await library.create(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', process.env.BENCH_KEY_PREFIX ?? `bench-api-${process.pid}`);
  await prepare(cache);
  process.on('message', ({ measurement, round }: MeasurementRequest) => {
    MEASUREMENTS[measurement](cache, round).then(
      (record) => process.send?.({ record, wrongAnswers: wrongAnswers.count } satisfies MeasurementReply),
      (error: Error) => process.send?.({ error: `${library.name}: ${error.message}` }),
    );
  });
  process.once('disconnect', () => {
    void cache.close().finally(() => process.exit(0));
  });
  process.send?.({ ready: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
