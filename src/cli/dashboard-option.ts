import { startDashboard, type Dashboard } from '../dashboard/server/dashboard.js';
import { isPlugboardError } from '../errors/errors.js';
import type { Host } from '../host/types.js';
import type { StartIo, StartOptions } from './start-command.js';

/**
 * `plugboard start --dashboard <port>`: serve the dashboard of the started host and print its
 * address once (with the token when one is required). Resolves `undefined` without the option,
 * `null` when it could not listen (the reason is printed).
 */
export async function openDashboard(
  host: Host,
  options: StartOptions,
  io: StartIo,
): Promise<Dashboard | undefined | null> {
  if (options.dashboard === undefined) {
    if (options.dashboardHost !== undefined || options.dashboardToken !== undefined)
      io.err(
        'plugboard: --dashboard-host and --dashboard-token only apply with --dashboard <port>.',
      );
    return undefined;
  }
  const fromEnv = process.env['PLUGBOARD_DASHBOARD_TOKEN'];
  const token = options.dashboardToken ?? (fromEnv === '' ? undefined : fromEnv);
  try {
    const dashboard = await startDashboard(host, {
      port: options.dashboard,
      ...(options.dashboardHost === undefined ? {} : { host: options.dashboardHost }),
      ...(token === undefined ? {} : { token }),
    });
    io.out(`plugboard: dashboard at ${dashboard.url}`);
    return dashboard;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const why = isPlugboardError(error)
      ? error.message
      : code === 'EADDRINUSE'
        ? `port ${options.dashboard} is in use`
        : error instanceof Error
          ? error.message
          : String(error);
    io.err(`plugboard: could not serve the dashboard: ${why}`);
    return null;
  }
}
