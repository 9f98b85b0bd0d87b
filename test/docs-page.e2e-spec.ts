import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM } from './support/chromium';
import { openApiDocument } from './support/openapi-contract';
import { startTestApp, type TestApp } from './support/test-app';

describe('GET /docs in headless Chromium', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startTestApp();
    browser = await chromium.launch(CHROMIUM);
  });
  afterAll(async () => {
    await browser?.close();
    await app.close();
  });

  it('shows every route group and runs "Try it out" on GET /health with a 200, all from this server', async () => {
    const document = await openApiDocument();
    const tags = [...new Set(Object.values(document.paths).flatMap((item) => Object.values(item).flatMap((op: { tags?: string[] }) => op.tags ?? [])))];
    expect(tags).toEqual(expect.arrayContaining(['health', 'settings', 'agent tools', 'telegram webhook', 'queue-board', 'metrics']));

    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const elsewhere: string[] = [];
    await page.route(
      (url) => !url.href.startsWith(app.baseUrl),
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort();
      },
    );
    await page.goto(`${app.baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').getByText(app.config.app.name).waitFor();
    for (const tag of tags) await page.locator(`h3.opblock-tag[data-tag="${tag}"]`).waitFor();

    const health = page.locator('#operations-health-Health_report');
    await health.locator('.opblock-summary').click();
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const status = health.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    expect((await status.innerText()).trim()).toBe('200');
    const body = health.locator('.live-responses-table .response-col_description .highlight-code pre').first();
    expect(JSON.parse(await body.innerText())).toMatchObject({ status: 'ok', service: app.config.app.name });
    expect(elsewhere).toEqual([]);
  }, 120_000);
});
