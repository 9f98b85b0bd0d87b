import { Injectable, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { of, type Observable } from 'rxjs';
import { BENCH_PAYLOAD } from './bench-payload';

const PREPARED_BODY = JSON.stringify(BENCH_PAYLOAD);

/**
 * The least a cache hit answered from a Nest interceptor can cost: no lookup, no key, the body
 * already serialized; only Nest's interceptor pipeline around it. The reference for the "L1 hit,
 * interceptor" target in a stock Nest app (bench/peer-apps.ts) and inside this app (bench/hit-path.bench.ts).
 */
@Injectable()
export class PreparedAnswerInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext): Observable<string> {
    context.getArgByIndex<FastifyReply>(1).header('content-type', 'application/json; charset=utf-8');
    return of(PREPARED_BODY);
  }
}
