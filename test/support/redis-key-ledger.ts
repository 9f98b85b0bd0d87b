import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';

/**
 * The key prefixes a test run used in the shared Redis, one `<redis url>\t<prefix>` line per app
 * start, in a file the jest global setup creates and names in `TEST_KEY_LEDGER`. The global
 * teardown reads it to prove the run left nothing behind under any of them.
 */
const LEDGER_VARIABLE = 'TEST_KEY_LEDGER';

export function createKeyLedger(): void {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'jarek-va-keys-'));
  process.env[LEDGER_VARIABLE] = path.join(directory, 'prefixes.tsv');
  fs.writeFileSync(process.env[LEDGER_VARIABLE], '');
}

export function recordKeyPrefixes(redisUrl: string, prefixes: readonly string[]): void {
  const ledger = process.env[LEDGER_VARIABLE];
  if (!ledger) throw new Error(`${LEDGER_VARIABLE} is not set: the jest global setup did not run`);
  fs.appendFileSync(ledger, prefixes.map((prefix) => `${redisUrl}\t${prefix}\n`).join(''));
}

/** Every key under a recorded prefix that is still in Redis. */
export async function keysLeftUnderRecordedPrefixes(): Promise<Map<string, string[]>> {
  const ledger = process.env[LEDGER_VARIABLE];
  const left = new Map<string, string[]>();
  if (!ledger || !fs.existsSync(ledger)) return left;
  const byUrl = new Map<string, Set<string>>();
  for (const line of fs.readFileSync(ledger, 'utf8').split('\n').filter(Boolean)) {
    const [url, prefix] = line.split('\t');
    byUrl.set(url, (byUrl.get(url) ?? new Set()).add(prefix));
  }
  for (const [url, prefixes] of byUrl) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const keys: string[] = [];
      for (const prefix of prefixes) {
        let cursor = '0';
        do {
          const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          keys.push(...found);
          cursor = next;
        } while (cursor !== '0');
      }
      if (keys.length > 0) left.set(url, keys);
    } finally {
      client.disconnect();
    }
  }
  fs.rmSync(path.dirname(ledger), { recursive: true, force: true });
  return left;
}
