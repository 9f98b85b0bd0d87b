import Redis from 'ioredis';
import { pollUntil } from './support/poll';
import { monitorLineArguments, watchCommands } from './support/redis-command-feed';
import { startRedisServer, untilReady, type RedisServerProcess } from './support/redis-server';

/**
 * The MONITOR feed that tests read to see which commands the app sent (test/support/redis-command-feed.ts),
 * against a real server of this file's own.
 */
describe('the MONITOR feed of a Redis server', () => {
  let server: RedisServerProcess;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    await untilReady(client);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('starts while other clients keep the server busy, its first lines arriving with the answer to MONITOR', async () => {
    // ioredis' monitor() fails this way ("Command queue state error") when another client's command
    // is fed right behind the answer; here every start succeeds and sees the other client's commands.
    let flooding = true;
    const flood = (async () => {
      while (flooding) await Promise.all(Array.from({ length: 20 }, () => client.ping('flood')));
    })();
    try {
      for (let start = 0; start < 30; start += 1) {
        const feed = await watchCommands(server);
        try {
          await pollUntil(async () => feed.commands.length, (count) => count > 0, 2_000, 1);
          expect(feed.commands.every((args) => args[0] === 'ping' && args[1] === 'flood')).toBe(true);
        } finally {
          feed.close();
        }
      }
    } finally {
      flooding = false;
      await flood;
    }
  }, 30_000);

  it('gives back each argument exactly as the client sent it: quotes, backslashes, control bytes, UTF-8, empty', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', 'line\nbreak\r\ttab\u0007\b', '', 'ünïcødé 😀', '\u0000\u00ff'];
    const feed = await watchCommands(server);
    try {
      await client.call('ECHO', 'marker-start');
      for (const value of values) await client.set('feed:key', value);
      await client.call('ECHO', 'marker-end');
      const { value: seen } = await pollUntil(
        async () => feed.commands,
        (commands) => commands.some((args) => args[1] === 'marker-end'),
        2_000,
        5,
      );
      const sets = seen.filter((args) => args[0] === 'set');

      expect(sets).toEqual(values.map((value) => ['set', 'feed:key', value]));
    } finally {
      feed.close();
    }
  });

  it('reads a line as Redis quotes it, and refuses one that is not a MONITOR line', () => {
    expect(monitorLineArguments('1796311173.366407 [0 127.0.0.1:60312] "ping" "x"')).toEqual(['ping', 'x']);
    expect(monitorLineArguments('1.0 [0 unix:/tmp/redis.sock] "set" "a\\"b" "\\xe2\\x82\\xac"')).toEqual(['set', 'a"b', '€']);
    expect(() => monitorLineArguments('OK')).toThrow('not a MONITOR line');
    expect(() => monitorLineArguments('1.0 [0 127.0.0.1:1] "unterminated')).toThrow('unterminated argument');
  });
});
