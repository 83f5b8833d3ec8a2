/**
 * The server settings that decide how XCS runs containers (XCS keys of `POST /xapi/docker/server`, beside XNAT's),
 * their checks, and what the run engine gets from them (`siteSettingsOf`). Every setting either takes effect or
 * is refused with what to do instead: XNAT keys XCS cannot honour (another backend, Kubernetes PVCs, Swarm
 * constraints, status e-mail) answer 400 rather than being stored and ignored.
 */
import { STAGING_MODES, type StagingMode } from '../../archive/staging.ts';
import { backendRefusal } from '../../backends/index.ts';
import { CALLBACK_NETWORK_HINT, callbackUse } from '../../command/calls-back.ts';
import type { Command } from '../../command/model.ts';
import { isolationRefusal, networkOf } from '../../runtime/index.ts';
import { XcsError } from '../../core/errors.ts';
import { DEFAULT_PIDS_LIMIT, type SiteSettings } from '../../runtime/index.ts';
import type { SwarmConstraint } from '../../resolution/types.ts';
import type { SlurmServerKeys } from './slurm-settings.ts';
import { allowedHostProblem } from '../../notifications/webhook-guard.ts';
import { DEFAULT_RETENTION_DAYS } from '../../notifications/retention.ts';

/** XCS keys (XNAT ignores unknown keys, so a settings JSON stays portable). */
export interface XcsServerKeys {
  /** `XNAT_HOST` given to containers (XNAT's site `processingUrl`); null = the server's own URL. */
  'processing-url': string | null;
  /** `none` (default), `host`, `bridge` or a named Docker network. */
  'container-network': string;
  'allowed-command-networks': string[];
  'allow-ipc-host': boolean;
  'allowed-runtimes': string[];
  'cap-add': string[];
  'pids-limit': number;
  /** MiB. */
  'default-limit-memory': number | null;
  /** Cores. */
  'default-limit-cpu': number | null;
  'read-only-rootfs': boolean;
  /** Loopback, private, link-local or reserved hosts webhooks may reach: names, addresses, CIDR ranges (webhook-guard.ts). */
  'webhook-allowed-hosts': string[];
  /** Days a consumed status event is kept (retention.ts). */
  'status-event-retention-days': number;
  /** Days a finished webhook delivery or status e-mail is kept. */
  'delivery-retention-days': number;
  /** How read-only archive inputs reach containers: `bind` mounts (path-translated when set) or `copy` into the build area. */
  'archive-staging': StagingMode;
}

export function defaultXcsKeys(): XcsServerKeys {
  return {
    'processing-url': null, 'container-network': process.env.XCS_CONTAINER_NETWORK || 'none', 'allowed-command-networks': [],
    'allow-ipc-host': false, 'allowed-runtimes': [], 'cap-add': [], 'pids-limit': DEFAULT_PIDS_LIMIT, 'default-limit-memory': null,
    'default-limit-cpu': null, 'read-only-rootfs': false, 'webhook-allowed-hosts': [],
    'status-event-retention-days': DEFAULT_RETENTION_DAYS, 'delivery-retention-days': DEFAULT_RETENTION_DAYS,
    'archive-staging': 'bind',
  };
}

function bad(message: string, path: string, hint?: string): XcsError {
  return new XcsError('xapi.settings.invalid', message, { status: 400, path, ...(hint ? { hint } : {}) });
}

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function stringList(body: Record<string, unknown>, key: string, errors: XcsError[], check: (v: string) => string | null): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push(bad(`"${key}" must be a list of strings`, `/${key}`));
    return [];
  }
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const problem = typeof item === 'string' ? check(item.trim()) : 'must be a string';
    if (problem) errors.push(bad(`"${key}" item ${i + 1} ${problem}`, `/${key}/${i}`));
    else out.push((item as string).trim());
  });
  return out;
}

function numberOrNull(body: Record<string, unknown>, key: string, errors: XcsError[], min: number, integer: boolean, unit: string): number | null {
  const v = body[key];
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    errors.push(bad(`"${key}" must be ${integer ? 'a whole number' : 'a number'} ≥ ${min} (${unit}), not ${JSON.stringify(v)}`, `/${key}`));
    return null;
  }
  return n;
}

function boolKey(body: Record<string, unknown>, key: string, errors: XcsError[]): boolean {
  const v = body[key];
  if (v === undefined || v === null) return false;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  errors.push(bad(`"${key}" must be true or false`, `/${key}`));
  return false;
}

/** `archive-staging`: absent or empty = `bind`. */
function stagingMode(body: Record<string, unknown>, errors: XcsError[]): StagingMode {
  const v = body['archive-staging'];
  if (v === undefined || v === null || v === '') return 'bind';
  const mode = STAGING_MODES.find((m) => m === v);
  if (mode) return mode;
  errors.push(bad(`"archive-staging" must be bind or copy, not ${JSON.stringify(v)}`, '/archive-staging',
    'bind: containers mount the archive\'s directories (path-translated when set); copy: inputs are copied into the run\'s build directory first'));
  return 'bind';
}

/** Reads the XCS keys of a posted server JSON, collecting every error. */
export function parseXcsKeys(body: Record<string, unknown>, errors: XcsError[]): XcsServerKeys {
  const keys = defaultXcsKeys();
  const url = body['processing-url'];
  if (url !== undefined && url !== null && url !== '') {
    if (typeof url !== 'string' || !/^https?:\/\/[^\s/]+/.test(url)) {
      errors.push(bad('"processing-url" must be the http(s) URL containers reach this server at, e.g. http://172.17.0.1:8080', '/processing-url'));
    } else keys['processing-url'] = url.replace(/\/+$/, '');
  }
  const network = body['container-network'];
  if (network !== undefined && network !== null && network !== '') {
    if (typeof network !== 'string' || !NETWORK_NAME.test(network.trim())) {
      errors.push(bad('"container-network" must be none, host, bridge or the name of a Docker network', '/container-network'));
    } else keys['container-network'] = network.trim();
  }
  keys['allowed-command-networks'] = stringList(body, 'allowed-command-networks', errors,
    (v) => (v === '*' || v === 'container:*' || NETWORK_NAME.test(v) || /^container:[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)
      ? null : 'must be host, bridge, a network name, container:NAME, container:* or *'));
  keys['allowed-runtimes'] = stringList(body, 'allowed-runtimes', errors, (v) => (NETWORK_NAME.test(v) ? null : 'must be a runtime name, e.g. nvidia'));
  keys['cap-add'] = stringList(body, 'cap-add', errors, (v) => {
    const name = v.toUpperCase().replace(/^CAP_/, '');
    if (name === 'ALL') return 'cannot be ALL: give back the capabilities the tools need one by one';
    if (name === 'SYS_ADMIN') return 'cannot be SYS_ADMIN: it is as good as a privileged container';
    return /^[A-Z_]+$/.test(name) ? null : 'must be a Linux capability name, e.g. CHOWN';
  }).map((v) => v.toUpperCase().replace(/^CAP_/, ''));
  keys['allow-ipc-host'] = boolKey(body, 'allow-ipc-host', errors);
  keys['read-only-rootfs'] = boolKey(body, 'read-only-rootfs', errors);
  keys['pids-limit'] = numberOrNull(body, 'pids-limit', errors, 16, true, 'processes per container') ?? DEFAULT_PIDS_LIMIT;
  keys['default-limit-memory'] = numberOrNull(body, 'default-limit-memory', errors, 6, true, 'MiB');
  keys['default-limit-cpu'] = numberOrNull(body, 'default-limit-cpu', errors, 0.01, false, 'cores');
  keys['webhook-allowed-hosts'] = stringList(body, 'webhook-allowed-hosts', errors, allowedHostProblem);
  keys['status-event-retention-days'] = numberOrNull(body, 'status-event-retention-days', errors, 1, true, 'days') ?? DEFAULT_RETENTION_DAYS;
  keys['delivery-retention-days'] = numberOrNull(body, 'delivery-retention-days', errors, 1, true, 'days') ?? DEFAULT_RETENTION_DAYS;
  keys['archive-staging'] = stagingMode(body, errors);
  return keys;
}

/** The XNAT keys of a server JSON that decide how runs are made. */
export interface XnatRunKeys {
  backend: string;
  'container-user': string | null;
  'auto-cleanup': boolean;
  'path-translation-xnat-prefix': string | null;
  'path-translation-docker-prefix': string | null;
  'status-email-enabled': boolean;
  'swarm-constraints': unknown[];
  'cert-path': string | null;
  'gpu-vendor': string | null;
  'archive-pvc-name': string | null;
  'build-pvc-name': string | null;
  'combined-pvc-name': string | null;
  'archive-path-translation': string | null;
  'build-path-translation': string | null;
  'combined-path-translation': string | null;
}

const KUBERNETES_ONLY = ['gpu-vendor', 'archive-pvc-name', 'build-pvc-name', 'combined-pvc-name', 'archive-path-translation',
  'build-path-translation', 'combined-path-translation'] as const;

/**
 * XNAT settings XCS cannot honour are refused, not stored and ignored. The backend is checked against the
 * registry (a kind without a backend is a 400 that says so); on the docker backend the Kubernetes and Swarm keys
 * mean nothing.
 */
export function refuseUnsupported(s: XnatRunKeys, errors: XcsError[]): void {
  // E-mails go through the SMTP server the process was started with (notifications/mail.ts); without one the
  // setting could not take effect.
  if (s['status-email-enabled'] && !process.env.XCS_SMTP_URL) {
    errors.push(bad('"status-email-enabled" cannot be true: no SMTP server is configured', '/status-email-enabled',
      'start xcs serve with XCS_SMTP_URL=smtp://host:port and XCS_MAIL_FROM (see the README, "Operations")'));
  }
  const refusal = backendRefusal(s.backend);
  if (refusal) {
    errors.push(refusal);
    return;
  }
  const user = s['container-user'];
  if (user !== null && user.trim() !== '' && !/^\d+(:\d+)?$/.test(user.trim())) {
    errors.push(bad(`"container-user" must be a numeric uid or uid:gid (e.g. 1000:1000), not "${user}"`, '/container-user',
      'XCS gives the run\'s output directories to this user so the tool can write them; a name would be known only inside the image'));
  }
  if (s['cert-path'] !== null && s['cert-path'].trim() !== '') {
    errors.push(bad('"cert-path" is not supported: XCS talks to a local engine (unix:// or tcp:// without TLS)', '/cert-path'));
  }
  for (const key of KUBERNETES_ONLY) {
    const v = s[key];
    if (v !== null && v.trim() !== '') errors.push(bad(`"${key}" applies to the kubernetes backend, which XCS does not have yet; leave it out`, `/${key}`));
  }
  if (s['swarm-constraints'].length > 0 && s.backend !== 'swarm') {
    errors.push(bad(`"swarm-constraints" apply to the swarm backend, not ${s.backend}; leave them out or set "backend": "swarm"`, '/swarm-constraints'));
  }
}

/** The site's swarm constraints as resolution reads them (the settings parser checked each one). */
function swarmConstraintsOf(list: unknown[]): SwarmConstraint[] {
  return list.filter((c): c is SwarmConstraint => typeof c === 'object' && c !== null && typeof (c as SwarmConstraint).attribute === 'string')
    .map((c) => ({ 'user-settable': c['user-settable'] === true, attribute: c.attribute, comparator: c.comparator ?? '==', values: [...c.values] }));
}

/** What the run engine makes new runs with. */
export function siteSettingsOf(s: XnatRunKeys & XcsServerKeys & Partial<Pick<SlurmServerKeys, 'slurm-user-settable'>>): SiteSettings {
  const x = s['path-translation-xnat-prefix'];
  const d = s['path-translation-docker-prefix'];
  const user = s['container-user']?.trim() ?? '';
  return {
    processingUrl: s['processing-url'],
    containerNetwork: s['container-network'],
    containerUser: user === '' ? null : user,
    autoCleanup: s['auto-cleanup'],
    pathTranslation: x && d ? { xnatPrefix: x, dockerPrefix: d } : null,
    archiveStaging: s['archive-staging'],
    swarmConstraints: s.backend === 'swarm' ? swarmConstraintsOf(s['swarm-constraints']) : [],
    slurmUserSettable: s.backend === 'slurm' ? structuredClone(s['slurm-user-settable'] ?? {}) : {},
    hardening: {
      capAdd: s['cap-add'], pidsLimit: s['pids-limit'], defaultLimitMemoryMiB: s['default-limit-memory'],
      defaultLimitCpu: s['default-limit-cpu'], readOnlyRootfs: s['read-only-rootfs'], allowIpcHost: s['allow-ipc-host'],
      allowedCommandNetworks: s['allowed-command-networks'], allowedRuntimes: s['allowed-runtimes'],
    },
  };
}

/** What availability and the launch UI say about a command that calls XNAT back (null when it does not). */
export interface CallbackNote {
  /** The callback variables it uses. */
  variables: string[];
  /** The network its container would get now. */
  network: string;
  /** Whether that network can reach the server (anything but `none`). */
  'has-network': boolean;
  message: string;
}

export function callbackNote(command: Pick<Command, 'command-line' | 'environment-variables' | 'network'>,
  server: XnatRunKeys & XcsServerKeys): CallbackNote | null {
  const use = callbackUse(command);
  if (use.variables.length === 0) return null;
  const network = networkOf(command, siteSettingsOf(server));
  const hasNetwork = network !== 'none';
  return {
    variables: use.variables, network, 'has-network': hasNetwork,
    message: hasNetwork
      ? `calls XNAT back (${use.variables.join(', ')}); its container gets network "${network}"`
      : `calls XNAT back (${use.variables.join(', ')}) but its container would get no network; ${CALLBACK_NETWORK_HINT}`,
  };
}

/** Why the current server settings refuse to launch `command` (a weakening runtime option), or null. */
export function isolationNote(command: Pick<Command, 'name' | 'network' | 'ipc-mode' | 'runtime'>, server: XnatRunKeys & XcsServerKeys): string | null {
  const refusal = isolationRefusal(command, siteSettingsOf(server));
  return refusal ? `${refusal.message}; ${refusal.hint ?? ''}` : null;
}

/** The swarm constraints a launch gets under `s` (§2.15): the defaults, and the ones a user may choose at launch. */
export function placementNote(s: Pick<XnatRunKeys, 'backend' | 'swarm-constraints'>):
  { backend: string; constraints: string[]; 'user-settable': Array<{ attribute: string; comparator: string; values: string[] }> } | null {
  if (s.backend !== 'swarm') return null;
  const list = swarmConstraintsOf(s['swarm-constraints']);
  return {
    backend: s.backend,
    constraints: list.map((c) => c.attribute + c.comparator + c.values[0]),
    'user-settable': list.filter((c) => c['user-settable']).map((c) => ({ attribute: c.attribute, comparator: c.comparator, values: c.values })),
  };
}
