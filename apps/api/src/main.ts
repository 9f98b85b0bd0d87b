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

/**
 * What `listen` failing means for the variables that chose the address. `listen` also runs the
 * modules' initialisation, whose own configuration errors pass through.
 */
function listenError(error: NodeJS.ErrnoException, config: AppConfig): Error {
  if (error instanceof ConfigValidationError || typeof error.syscall !== 'string') return error;
  const { host, port } = config.http;
  const why =
    error.code === 'EADDRINUSE'
      ? `PORT ${port} is in use on ${host}`
      : error.code === 'EACCES'
        ? `PORT ${port} needs privileges this process does not have`
        : `HOST ${host} is not an address of this machine`;
  return new ConfigValidationError(`Invalid configuration: cannot listen on ${host}:${port}: ${why} (${error.message})`, { cause: error });
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
  else await app.listen(config.http.port, config.http.host).catch((error: NodeJS.ErrnoException) => Promise.reject(listenError(error, config)));
}

main().catch((error: unknown) => {
  // A value of the environment this machine cannot use: one line, as for a value the schema refuses.
  if (!(error instanceof ConfigValidationError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
