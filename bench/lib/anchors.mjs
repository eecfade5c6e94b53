// Anchor setups shared by several scenarios.

/** A Moleculer 0.15 broker that stays in-process: no transporter, no logger. */
export async function startMoleculer(options = {}) {
  const { ServiceBroker } = await import('moleculer');
  const broker = new ServiceBroker({
    nodeID: 'bench',
    transporter: null,
    logger: false,
    ...options,
  });
  return broker;
}
