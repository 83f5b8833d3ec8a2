/**
 * Where a webhook may point (server setting `webhook-allowed-hosts`). A webhook makes XCS send POST requests
 * from inside the site's network, so without a guard whoever registers one could reach the cloud metadata
 * service (169.254.169.254), the database port or any other internal service. Public addresses are allowed;
 * loopback, private, link-local and reserved ones only when the setting lists them (an address or CIDR range), or
 * when the URL's host name itself is listed (the administrator trusts that name wherever it resolves).
 * The check runs when a webhook is registered and again at each delivery on the addresses the connection is
 * actually made to, so a name that later resolves elsewhere (DNS rebinding) is refused too.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { XcsError } from '../core/errors.ts';

/** A name, address or range of the setting: checked in site-settings-keys.ts, used here. */
export function allowedHostProblem(entry: string): string | null {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      return `must be a host name, an IP address or a CIDR range (e.g. 10.0.0.0/8), not ${JSON.stringify(entry)}`;
    }
    return null;
  }
  if (family !== 0) return null;
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(entry)
    ? null : `must be a host name, an IP address or a CIDR range (e.g. 10.0.0.0/8), not ${JSON.stringify(entry)}`;
}

/** The parsed `webhook-allowed-hosts`. */
export interface WebhookHostPolicy {
  names: ReadonlySet<string>;
  ranges: BlockList;
  /** The setting as written, for messages. */
  listed: readonly string[];
}

const normalName = (host: string): string => host.toLowerCase().replace(/\.$/, '');

export function hostPolicy(allowed: readonly string[]): WebhookHostPolicy {
  const names = new Set<string>();
  const ranges = new BlockList();
  for (const entry of allowed) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) names.add(normalName(entry));
    else {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      ranges.addSubnet(address, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), type);
    }
  }
  return { names, ranges, listed: [...allowed] };
}

// Address kinds a webhook may not reach unless listed. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match the
// IPv4 ranges (BlockList compares them as IPv4).
const FORBIDDEN: Array<[kind: string, ranges: Array<[string, number]>]> = [
  ['a loopback address', [['127.0.0.0', 8], ['::1', 128]]],
  ['a link-local address (cloud metadata services live there)', [['169.254.0.0', 16], ['fe80::', 10]]],
  ['a private address', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['fc00::', 7], ['fec0::', 10]]],
  ['a reserved address', [['0.0.0.0', 8], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['198.18.0.0', 15],
    ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4], ['::', 128], ['64:ff9b::', 96], ['100::', 64],
    ['2001::', 32], ['2001:db8::', 32], ['2002::', 16], ['ff00::', 8]]],
];

const KINDS = FORBIDDEN.map(([kind, ranges]) => {
  const list = new BlockList();
  for (const [address, prefix] of ranges) list.addSubnet(address, prefix, isIP(address) === 4 ? 'ipv4' : 'ipv6');
  return { kind, list };
});

/** Why the address may not be reached (its kind), or null when it may. */
export function addressRefusal(address: string, policy: WebhookHostPolicy): string | null {
  const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  if (policy.ranges.check(address, type)) return null;
  return KINDS.find((k) => k.list.check(address, type))?.kind ?? null;
}

const RULE = '"webhook-allowed-hosts" (server setting) does not list it';
const HINT = 'a container manager may allow it: POST /xapi/docker/server with "webhook-allowed-hosts": ["hooks.internal", "10.1.0.0/16"]';

function forbidden(url: string, why: string): XcsError {
  return new XcsError('xapi.webhook.forbidden-host', `Webhook URL ${url} is refused: ${why}`, { path: '/url', hint: HINT });
}

const bareHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = (host) => new Promise((resolve, reject) => {
  dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address))));
});

/**
 * Checks a webhook URL against the policy, resolving a host name that is not listed (every address it has must
 * be allowed). Throws a 400 naming the URL and the rule.
 */
export async function checkWebhookUrl(raw: string, policy: WebhookHostPolicy, resolve: Resolve = resolveAll): Promise<void> {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw forbidden(raw, `only http and https are allowed, not ${url.protocol}`);
  const host = bareHost(url);
  if (isIP(host) !== 0) {
    const kind = addressRefusal(host, policy);
    if (kind) throw forbidden(raw, `${host} is ${kind} and ${RULE}`);
    return;
  }
  if (policy.names.has(normalName(host))) return;
  let addresses: string[];
  try { addresses = await resolve(host); } catch (e) {
    throw forbidden(raw, `${host} does not resolve (${e instanceof Error ? e.message : String(e)})`);
  }
  for (const address of addresses) {
    const kind = addressRefusal(address, policy);
    if (kind) throw forbidden(raw, `${host} resolves to ${address}, ${kind}, and ${RULE}`);
  }
}

/** The connection refused at delivery time: recorded in the delivery log as its error. */
export class ForbiddenAddressError extends Error {
  readonly code = 'EWEBHOOKFORBIDDEN';
}

/**
 * A `lookup` for `http.request` that refuses a name any of whose addresses is forbidden: the check and the
 * connection use the same resolution, so a name cannot pass the check and then connect elsewhere.
 */
export function guardedLookup(policy: WebhookHostPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) { callback(err, ''); return; }
      for (const a of addresses) {
        const kind = addressRefusal(a.address, policy);
        if (kind) {
          callback(new ForbiddenAddressError(`${hostname} resolves to ${a.address}, ${kind}, and ${RULE}`), '');
          return;
        }
      }
      if (options.all) (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Whether `host` (of a delivery URL) is trusted by name, or must be checked on its addresses. */
export function deliveryCheck(url: URL, policy: WebhookHostPolicy): { trusted: boolean; refusal: string | null } {
  const host = bareHost(url);
  if (isIP(host) !== 0) {
    const kind = addressRefusal(host, policy);
    return { trusted: true, refusal: kind ? `${host} is ${kind} and ${RULE}` : null };
  }
  return { trusted: policy.names.has(normalName(host)), refusal: null };
}
