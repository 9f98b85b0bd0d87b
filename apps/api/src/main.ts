import 'reflect-metadata';
import { ConfigValidationError, loadConfig, type AppConfig } from '@app/config';
import { createApp } from './bootstrap';

function readConfig(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const app = await createApp(config);
  // Nest drains in-flight requests on SIGTERM; this bounds how long a stuck request can hold it up.
  process.once('SIGTERM', () => {
    setTimeout(() => process.exit(1), config.http.shutdownTimeoutMs).unref();
  });
  await app.listen(config.http.port, config.http.host);
}

void main();
