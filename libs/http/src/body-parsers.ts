import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { parse as parseForm } from 'fast-querystring';
import { errorBody } from './error-body';
import { JSON_MAX_DEPTH, jsonNestingExceeds } from './json-depth';

/**
 * The request body parsers, in place of Nest's defaults: JSON through Fastify's own parser
 * (prototype-poisoning keys refused) after a depth check, so a body nested thousands of levels deep
 * is a 400 naming the limit instead of a stack overflow in whatever walks it later; form bodies as
 * Nest parses them. The depth check is a content-type parser rather than a `secure-json-parse`
 * option because that library has no depth limit, and `JSON.parse` itself copes with deep input:
 * it is everything after it that recurses.
 */
export function installBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  const parseJson = app.getHttpAdapter().getInstance().getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    if (jsonNestingExceeds(body, JSON_MAX_DEPTH)) {
      const tooDeep = new BadRequestException(
        errorBody(`Request body is nested too deeply: the limit is ${JSON_MAX_DEPTH} levels of objects and arrays.`, 'Bad Request'),
      );
      // Fastify's `statusCode` too: routes outside Nest (Bull Board's) answer with their own error handler, which reads it.
      done(Object.assign(tooDeep, { statusCode: tooDeep.getStatus() }), undefined);
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-floating-promises -- Fastify's parser reports every outcome through done()
    parseJson(request as FastifyRequest, body.toString('utf8'), done);
  });
  app.useBodyParser('application/x-www-form-urlencoded', { bodyLimit }, (_request, body, done) => {
    done(null, parseForm(body.toString('utf8')));
  });
}
