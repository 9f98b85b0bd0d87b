import { connect, type Socket } from 'node:net';

/** The commands a Redis server ran, as MONITOR reports them, from the moment MONITOR answered. */
export interface CommandFeed {
  /** Each command as its arguments, the name first, in the order the server ran them. */
  readonly commands: string[][];
  close(): void;
}

/** What MONITOR's `sdscatrepr` quoting turns into a backslash sequence, other than `\xHH`. */
const ESCAPED: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08, '"': 0x22, '\\': 0x5c };

/**
 * The arguments of one MONITOR line, `<time> [<db> <client>] "arg" "arg" …`. Redis quotes each
 * argument and writes any byte that is not printable ASCII as an escape, so the bytes are rebuilt
 * and read as UTF-8.
 */
export function monitorLineArguments(line: string): string[] {
  const args: string[] = [];
  let index = line.indexOf('] "');
  if (index === -1) throw new Error(`not a MONITOR line: ${line}`);
  index += 2;
  while (index < line.length) {
    if (line[index] !== '"') throw new Error(`expected a quoted argument at ${index} of: ${line}`);
    const bytes: number[] = [];
    index += 1;
    while (line[index] !== '"') {
      if (index >= line.length) throw new Error(`unterminated argument in: ${line}`);
      if (line[index] !== '\\') {
        bytes.push(line.charCodeAt(index));
        index += 1;
      } else if (line[index + 1] === 'x') {
        bytes.push(parseInt(line.slice(index + 2, index + 4), 16));
        index += 4;
      } else {
        bytes.push(ESCAPED[line[index + 1]] ?? line.charCodeAt(index + 1));
        index += 2;
      }
    }
    args.push(Buffer.from(bytes).toString('utf8'));
    index += 2;
  }
  return args;
}

/**
 * Watches what a Redis server runs, over a connection of its own that sends MONITOR and reads the
 * feed. ioredis' `monitor()` is not used: it marks its connection as monitoring only once the
 * answer to MONITOR has resolved a promise, so a fed line that arrives in the same read as that
 * answer — any other client's command right then — finds no command waiting and fails the call
 * ("Command queue state error"; on a Sentinel's primary, the Sentinel's own INFO did).
 */
export function watchCommands(target: { host?: string; port: number }): Promise<CommandFeed> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(target.port, target.host ?? '127.0.0.1');
    const commands: string[][] = [];
    let pending = '';
    let answered = false;
    socket.setEncoding('latin1');
    socket.once('error', reject);
    socket.once('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (answered) {
          if (line.startsWith('+')) commands.push(monitorLineArguments(line.slice(1)));
        } else if (line === '+OK') {
          answered = true;
          resolve({ commands, close: () => socket.destroy() });
        } else {
          socket.destroy();
          reject(new Error(`MONITOR was answered with ${line}`));
        }
      }
    });
  });
}
