export * from './errors.js';
export { errorToWire, wireToError, type WireError } from './wire.js';
