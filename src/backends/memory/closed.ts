import { BackendUnavailableError } from '../../errors/errors.js';

/** What every port of a closed memory backend answers (as a closed Redis port: nothing sent). */
export function closedError(): BackendUnavailableError {
  return new BackendUnavailableError('The memory backend of this host is closed.', {
    details: { sent: false },
  });
}

/** A closed port rejects (never throws), like every port of both backends. */
export function rejectClosed(): Promise<never> {
  return Promise.reject(closedError());
}
