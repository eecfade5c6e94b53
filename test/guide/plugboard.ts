/**
 * What `from 'plugboard'` means in the guide's blocks run by guide.test.ts: the package's source,
 * with `createHost` recording each host it creates, so the test can check that a block stopped
 * its hosts and stop the ones a failing block left running.
 */
import { createHost as createSourceHost, type Host } from '../../src/index.js';

export * from '../../src/index.js';

/** Hosts created since the last {@link takeHosts}. */
let created: Host[] = [];

export const createHost: typeof createSourceHost = async (options) => {
  const host = await createSourceHost(options);
  created.push(host);
  return host;
};

/** The hosts created since the last call, forgetting them. */
export function takeHosts(): Host[] {
  const hosts = created;
  created = [];
  return hosts;
}
