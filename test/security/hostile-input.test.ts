/**
 * Hostile input on the embedded backend: the table of hostile-input-table.ts, sender and probe
 * plugins in one host (parity on, as in development: local deliveries go through the codec).
 */
import { createHost, definePlugin } from '../../src/host/index.js';
import type { PluginContext } from '../../src/context/types.js';
import {
  describeHostileInput,
  HOSTILE_MAX_PAYLOAD_BYTES,
  installProbe,
  installSender,
} from './hostile-input-table.js';

describeHostileInput('hostile input (memory)', async () => {
  let sender: PluginContext | undefined;
  const host = await createHost({
    logger: false,
    parity: true,
    limits: { maxPayloadBytes: HOSTILE_MAX_PAYLOAD_BYTES },
    plugins: [
      definePlugin({ name: 'hostile-probe', version: '1.0.0', activate: installProbe }),
      definePlugin({
        name: 'hostile-sender',
        version: '1.0.0',
        dependencies: { 'hostile-probe': '^1.0.0' },
        activate(context) {
          installSender(context);
          sender = context;
        },
      }),
    ],
  });
  await host.start();
  return { sender: sender!, probePid: process.pid, stop: () => host.stop() };
});
