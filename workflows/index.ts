// Entry point of the workflow bundle: every workflow the worker hosts.
export { protect } from './protect';
export { restore } from './restore';
export { deleteCheckpoint } from './delete';
export { protectableInstances } from './protectables';
export { verifyCheckpoint } from './verify';
export { gc } from './gc';
export { scheduledOperation } from './scheduled-operation';
