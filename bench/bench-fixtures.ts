import { Controller, Get, Module, UseInterceptors } from '@nestjs/common';
import { CacheModule, defineCacheNamespace, HttpCached } from '@app/cache';
import { BENCH_PAYLOAD } from './bench-payload';
import { PreparedAnswerInterceptor } from './prepared-answer.interceptor';

export const loaderCalls = { cold: 0 };

/**
 * The hit routes' entries, kept in L1 for longer than any run. In the `http` namespace, whose 30 s TTL
 * caps an entry's L1 life, an entry left L1 mid-run and came back from Redis as an object of another shape, which
 * deoptimises the hit path once and has V8 compile it again. Under callgrind that compilation landed
 * inside `bench:instructions`' counted window (docs/benchmarks.md, "Instructions per request").
 */
export const HITS = defineCacheNamespace({ name: 'bench-hits', ttl: '1h', l1Ttl: '1h', description: 'benchmark: hits served from L1 all run long' });

/** L1 entries live 1 ms, so nearly every read of this namespace goes to Redis: the L2 variant. */
const L2_ONLY = defineCacheNamespace({ name: 'bench-l2', ttl: '1m', l1Ttl: 1, description: 'benchmark: L2 only' });

/** This app's routes under measurement, composed into the real app. */
@Controller('bench')
class BenchController {
  @Get('trivial')
  trivial() {
    return BENCH_PAYLOAD;
  }

  /** The reference of bench/hit-path.bench.ts: this app's request path and Nest's interceptor pipeline, no cache. */
  @Get('prepared')
  @UseInterceptors(PreparedAnswerInterceptor)
  prepared() {
    return BENCH_PAYLOAD;
  }

  @Get('ours')
  @HttpCached({ scope: 'public', namespace: HITS })
  ours() {
    return BENCH_PAYLOAD;
  }

  @Get('ours-early')
  @HttpCached({ scope: 'public', namespace: HITS, earlyHits: true })
  oursEarly() {
    return BENCH_PAYLOAD;
  }

  @Get('ours-l2')
  @HttpCached({ scope: 'public', ttl: '1m', namespace: L2_ONLY })
  oursL2() {
    return BENCH_PAYLOAD;
  }

  @Get('cold')
  @HttpCached({ scope: 'public', ttl: '1m' })
  async cold() {
    loaderCalls.cold += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return BENCH_PAYLOAD;
  }

  @Get('loader-calls')
  loaderCalls() {
    return loaderCalls;
  }
}

@Module({
  imports: [CacheModule.forFeature(HITS, L2_ONLY)],
  controllers: [BenchController],
})
export class BenchFixturesModule {}
