export { budgetTimer, withTimeout } from './time-budget';
export { LONE_SURROGATE } from './unicode';
