export { withTimeout } from './time-budget';
