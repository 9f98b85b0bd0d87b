import type { ArgumentsHost } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { AppConfig } from '@app/config';
import { AllExceptionsFilter } from './all-exceptions.filter';

/** The shape of Prisma's validation error: its message quotes the operation's arguments. */
class PrismaClientValidationError extends Error {
  override readonly name = 'PrismaClientValidationError';
}

function hostFor(request: object): ArgumentsHost {
  return { switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }) } as unknown as ArgumentsHost;
}

describe('AllExceptionsFilter', () => {
  const replies: Array<[unknown, number]> = [];
  const filter = new AllExceptionsFilter(
    { httpAdapter: { reply: (_response: unknown, body: unknown, status: number) => void replies.push([body, status]) } } as unknown as HttpAdapterHost,
    { http: { bodyLimitBytes: 1024 } } as unknown as AppConfig,
  );
  let logged: unknown[][];

  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((...args: unknown[]) => void logged.push(args));
  });
  afterEach(() => jest.restoreAllMocks());

  it("logs a database client error without its message, which quotes the operation's data (a bot token here)", () => {
    const error = new PrismaClientValidationError('Invalid `prisma.telegramBot.update()` invocation: { botToken: "777:SECRETTOKENvalue", name: null }');
    filter.catch(error, hostFor({ id: 'req-1', method: 'PATCH', url: '/telegram/bots/2' }));

    expect(replies.at(-1)?.[1]).toBe(500);
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0])).not.toContain('SECRETTOKENvalue');
    expect(logged[0][0]).toMatchObject({ err: { type: 'PrismaClientValidationError' }, requestId: 'req-1' });
  });

  it('logs any other unhandled error whole, with its stack', () => {
    const error = new TypeError('cannot read x of undefined');
    filter.catch(error, hostFor({ id: 'req-2', method: 'GET', url: '/settings' }));

    expect(logged[0][0]).toMatchObject({ err: error, requestId: 'req-2' });
  });
});
