// Entry point of the workflow bundle: every workflow the worker hosts.
export { protect } from './protect';
