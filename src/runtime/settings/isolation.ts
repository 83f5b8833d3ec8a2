/**
 * What a command may ask of the engine that weakens the isolation of its container: another network (the host's,
 * or another container's), the host's IPC namespace, another OCI runtime. Each is granted only when a site setting
 * allows it; otherwise the launch is refused and the refusal names the setting that would allow it.
 */
import { XcsError } from '../../core/errors.ts';
import type { RunSpec } from '../store/run-spec.ts';
import type { SiteSettings } from './site-settings.ts';

const SETTINGS_ROUTE = 'POST /xapi/docker/server';

/** Networks that are not a named network: `*` in `allowed-command-networks` does not cover them. */
function isSpecialNetwork(network: string): boolean {
  return network === 'host' || network === 'bridge' || network === 'none' || network === 'default' || network.startsWith('container:');
}

function networkAllowed(asked: string, site: SiteSettings): boolean {
  if (asked === 'none' || asked === site.containerNetwork) return true;
  const allowed = site.hardening.allowedCommandNetworks;
  if (allowed.includes(asked)) return true;
  if (asked.startsWith('container:')) return allowed.includes('container:*');
  return !isSpecialNetwork(asked) && allowed.includes('*');
}

/** The runtime options a command asks for (a resolved spec, or a command with its name). */
export type IsolationAsk = Pick<RunSpec, 'network' | 'ipc-mode' | 'runtime'> & { 'command-name'?: string; name?: string };

/** Why `spec` cannot run with `site`'s settings, or null when it can. */
export function isolationRefusal(spec: IsolationAsk, site: SiteSettings): XcsError | null {
  const name = spec['command-name'] ?? spec.name ?? '';
  const asked = spec.network?.trim() ?? '';
  if (asked !== '' && !networkAllowed(asked, site)) {
    return new XcsError('launch.network-not-allowed',
      `Command "${name}" asks for network "${asked}", which this site does not let commands choose: containers run on ` +
      `network "${site.containerNetwork}" (server setting "container-network")`,
      { path: '/network', hint: `a container manager can allow it by adding "${asked}" to the server setting ` +
        `"allowed-command-networks" (${SETTINGS_ROUTE}), or give every container a network with "container-network"` });
  }
  const ipc = spec['ipc-mode']?.trim() ?? '';
  if ((ipc === 'host' || ipc.startsWith('container:')) && !site.hardening.allowIpcHost) {
    return new XcsError('launch.ipc-mode-not-allowed',
      `Command "${name}" asks for ipc-mode "${ipc}", which shares memory outside its container; this site does not allow it`,
      { path: '/ipc-mode', hint: `a container manager can allow it with the server setting "allow-ipc-host": true (${SETTINGS_ROUTE})` });
  }
  const runtime = spec.runtime?.trim() ?? '';
  if (runtime !== '' && runtime !== 'runc' && !site.hardening.allowedRuntimes.includes(runtime)) {
    return new XcsError('launch.runtime-not-allowed',
      `Command "${name}" asks for the container runtime "${runtime}", which this site does not allow`,
      { path: '/runtime', hint: `a container manager can allow it by adding "${runtime}" to the server setting ` +
        `"allowed-runtimes" (${SETTINGS_ROUTE})` });
  }
  return null;
}

/** Throws the refusal of `spec` and of its setup and wrapup commands, if any. */
export function checkIsolation(spec: RunSpec, site: SiteSettings): void {
  for (const s of [spec, ...spec['setup-commands'], ...spec['wrapup-commands']]) {
    const refusal = isolationRefusal(s, site);
    if (refusal) throw refusal;
  }
}

/** The network a container joins: its command's (when allowed; checked at launch), else the site's. */
export function networkOf(spec: Pick<RunSpec, 'network'>, site: SiteSettings): string {
  const asked = spec.network?.trim() ?? '';
  return asked !== '' && networkAllowed(asked, site) ? asked : site.containerNetwork;
}
