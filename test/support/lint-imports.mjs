// Lints source texts at given paths with only the import-boundary rule of eslint.config.mjs, and
// prints what it reports as JSON: `node test/support/lint-imports.mjs '[{"filePath": …, "code": …}]'`.
// A child process, because ESLint loads its flat config as an ES module, which jest's VM cannot.
import { ESLint } from 'eslint';

const eslint = new ESLint({
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ruleId === 'import-x/no-restricted-paths',
});
const sources = JSON.parse(process.argv[2]);
const reports = [];
for (const { filePath, code } of sources) {
  const [result] = await eslint.lintText(code, { filePath });
  reports.push({ filePath, messages: result.messages.map((message) => message.message) });
}
process.stdout.write(JSON.stringify(reports));
