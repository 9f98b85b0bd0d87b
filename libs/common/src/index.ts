export { budgetTimer, withTimeout } from './time-budget';
