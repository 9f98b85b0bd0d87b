import type { LaunchOptions } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it), headless, with nothing that reaches the network on its own. */
export const CHROMIUM: LaunchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
