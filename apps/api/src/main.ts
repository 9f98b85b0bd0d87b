import 'reflect-metadata';
import { ConfigValidationError, loadConfig, type AppConfig } from '@app/config';
import { createApp } from './bootstrap';
import { DeliverResult } from './conversation';
import { drainOnSignals, holdSignalsDuringBoot, RequestsInFlight } from './lifecycle';

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
  const boot = holdSignalsDuringBoot();
  const app = await createApp(config);
  const deliveries = app.get(DeliverResult);
  const drain = drainOnSignals(app, {
    timeoutMs: config.http.shutdownTimeoutMs,
    requests: RequestsInFlight.of(app),
    deliveries: () => deliveries.size,
  });
  const signalledDuringBoot = boot.release();
  if (signalledDuringBoot) drain(signalledDuringBoot);
  else await app.listen(config.http.port, config.http.host);
}

void main();
