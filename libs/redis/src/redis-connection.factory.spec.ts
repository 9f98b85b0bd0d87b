import { clusterKeySlot, describeRedis, redisOptionsFor } from './redis-connection.factory';

describe('clusterKeySlot', () => {
  it('is the slot Redis Cluster gives a key (CRC16 mod 16384)', () => {
    expect(clusterKeySlot('foo')).toBe(12182);
    expect(clusterKeySlot('somekey')).toBe(11058);
  });

  it('hashes only the first non-empty hash tag, so tagged keys share a slot', () => {
    expect(clusterKeySlot('{user1000}.following')).toBe(clusterKeySlot('user1000'));
    expect(clusterKeySlot('{cursor_runner_callback:abc}:delivering')).toBe(clusterKeySlot('cursor_runner_callback:abc'));
    expect(clusterKeySlot('foo{}{bar}')).not.toBe(clusterKeySlot('bar'));
  });
});

describe('redisOptionsFor', () => {
  it('asks the sentinels for the named primary, with the passwords and TLS configured', () => {
    const options = redisOptionsFor(
      { kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'main', password: 'p', sentinelPassword: 'sp', tls: true },
      'client',
    );
    expect(options).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'main',
      role: 'master',
      password: 'p',
      sentinelPassword: 'sp',
      tls: {},
      enableTLSForSentinelMode: true,
      enableOfflineQueue: false,
      connectionName: 'client',
    });
  });

  it('reads one server from its URL, credentials included', () => {
    expect(redisOptionsFor({ kind: 'standalone', url: 'rediss://u:p%40ss@h:6380/2' }, 'x')).toMatchObject({
      host: 'h',
      port: 6380,
      username: 'u',
      password: 'p@ss',
      db: 2,
      tls: {},
    });
  });

  it('reads an IPv6 address from its brackets, as ioredis takes it bare', () => {
    expect(redisOptionsFor({ kind: 'standalone', url: 'redis://[::1]:6380/2' }, 'x')).toMatchObject({ host: '::1', port: 6380, db: 2 });
  });

  it('describes each topology without credentials', () => {
    expect(describeRedis({ kind: 'standalone', url: 'redis://:secret@h:6379/0' })).toBe('redis://h:6379/0');
    expect(describeRedis({ kind: 'cluster', nodes: [{ host: 'a', port: 1 }], password: 'secret', tls: false })).toBe('Cluster via a:1');
  });
});
