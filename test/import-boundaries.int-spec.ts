import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.join(__dirname, '..');

interface Report {
  filePath: string;
  messages: string[];
}

/** What the import-boundary rule says about each file, linted as if it were at that path. */
async function lint(sources: Array<{ filePath: string; code: string }>): Promise<Map<string, string[]>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['test/support/lint-imports.mjs', JSON.stringify(sources)], {
    cwd: root,
  });
  return new Map((JSON.parse(stdout) as Report[]).map((report) => [report.filePath, report.messages]));
}

const importing = (specifier: string) => `import * as imported from '${specifier}';\nexport const used = imported;\n`;

describe('import boundaries (npm run lint)', () => {
  jest.setTimeout(60_000);

  it('refuses what docs/architecture.md rules out, and allows what it allows', async () => {
    const cases: Array<[string, string, RegExp | null]> = [
      ['apps/api/src/adapters/telegram/probe.ts', '../../settings', /An adapter knows no feature/],
      ['apps/api/src/adapters/telegram/probe.ts', '../cursor-runner', /An adapter knows no other adapter/],
      ['apps/api/src/adapters/telegram/probe.ts', '@app/config', null],
      ['apps/api/src/conversation/probe.ts', '../telegram/telegram-bots.service', /Import apps\/api\/src\/telegram through its index.ts/],
      ['apps/api/src/conversation/probe.ts', '../adapters/cursor-runner/request-id', /through its index.ts/],
      ['apps/api/src/conversation/probe.ts', '../telegram', null],
      ['apps/api/src/conversation/probe.ts', './texts', null],
      ['apps/api/src/conversation/probe.ts', '@app/cache/cache.module', /Import libs\/cache\/src as @app\/cache/],
      ['libs/redis/src/probe.ts', '../../../apps/api/src/app.module', /libs know no app/],
      ['test/probe.ts', '../apps/api/src/settings/settings.service', /Import apps\/api\/src\/settings through its index.ts/],
      ['test/probe.ts', '../apps/api/src/settings', null],
    ];
    const reports = await lint(cases.map(([filePath, specifier], index) => ({ filePath: filePath.replace('probe', `probe-${index}`), code: importing(specifier) })));

    cases.forEach(([filePath, specifier, expected], index) => {
      const messages = reports.get(filePath.replace('probe', `probe-${index}`));
      const description = `${filePath} importing ${specifier}`;
      if (expected === null) expect({ description, messages }).toEqual({ description, messages: [] });
      else expect({ description, messages }).toEqual({ description, messages: [expect.stringMatching(expected)] });
    });
  });
});
