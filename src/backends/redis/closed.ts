import { BackendUnavailableError } from '../../errors/errors.js';

/** What every port of a closed Redis backend rejects with: nothing was sent. */
export function closedError(): BackendUnavailableError {
  return new BackendUnavailableError('The Redis backend of this host is closed.', {
    details: { sent: false },
  });
}
