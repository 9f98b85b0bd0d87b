export { describeListening } from './listening-line';
export { drainOnSignals, holdSignalsDuringBoot, RequestsInFlight, type SignalDrainOptions } from './signal-drain';
export { StartupLogLevel } from './startup-log-level';
