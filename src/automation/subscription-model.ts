/**
 * Event Service subscriptions of container actions (reference §7.3), in XNAT's JSON shape (kebab-case, as
 * `/xapi/events/subscription` answers): what a subscription is, how a request body becomes one (every error
 * with its JSON path), and how a legacy command event mapping converts into one (§5.6). XCS runs only the
 * container service's own action provider, so an action key always names a wrapper.
 */
import { XcsError, type ErrorDetail } from '../core/errors.ts';
import { checkMatcherSyntax } from '../matcher/index.ts';
import { typesDerivedFrom } from '../archive/xsi.ts';
import type { CommandEventMapping } from './store.ts';

export const ACTION_PROVIDER = 'org.nrg.containers.services.CommandActionProvider';
export const SESSION_EVENT = 'org.nrg.xnat.eventservice.events.SessionEvent';
export const SCAN_EVENT = 'org.nrg.xnat.eventservice.events.ScanEvent';
export const SUBSCRIPTION_EVENT_TYPES = [SESSION_EVENT, SCAN_EVENT] as const;
export type SubscriptionEventType = (typeof SUBSCRIPTION_EVENT_TYPES)[number];
export const SUBSCRIPTION_STATUSES = ['CREATED', 'MERGED'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
/** Which statuses each event type has here: scans are only ever created (XNAT merges sessions, not scans). */
const STATUSES_OF: Record<SubscriptionEventType, readonly SubscriptionStatus[]> = {
  [SESSION_EVENT]: ['CREATED', 'MERGED'],
  [SCAN_EVENT]: ['CREATED'],
};

export interface EventFilter {
  'event-type': SubscriptionEventType;
  /** Empty: every project (a site-wide subscription). */
  'project-ids': string[];
  status: SubscriptionStatus;
  /** Body of a Jayway filter (`@.xsiType == 'xnat:mrSessionData'`) tested on the event object's JSON; '' = none. */
  'payload-filter': string;
}

/** What is stored; `valid` and `valid-message` are computed when answering. */
export interface StoredSubscription {
  id: number;
  name: string;
  active: boolean;
  'action-key': string;
  attributes: Record<string, string>;
  'event-filter': EventFilter;
  'act-as-event-user': boolean;
  'subscription-owner': string;
}

export interface Subscription extends StoredSubscription {
  valid: boolean;
  'valid-message': string;
}

export type NewSubscription = Omit<StoredSubscription, 'id'>;

export function actionKeyOf(wrapperId: number): string {
  return `${ACTION_PROVIDER}:${wrapperId}`;
}

/** The wrapper id an action key names, or null when it is not one of the container service's keys. */
export function wrapperIdOf(actionKey: string): number | null {
  const m = new RegExp(`^${ACTION_PROVIDER.replace(/\./g, '\\.')}:(\\d+)$`).exec(actionKey);
  return m ? Number(m[1]) : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** XNAT accepts `$[?(…)]` as well as the bare filter body; we store the body (what the matcher engine reads). */
export function filterBody(filter: string): string {
  const t = filter.trim();
  const m = /^\$\[\?\(([\s\S]*)\)\]$/.exec(t);
  return m ? m[1].trim() : t;
}

/**
 * The project ids a body asks for (`event-filter.project-ids`), read first and on their own so that access is
 * checked before anything else is said about the body (a caller without access learns nothing from a 400).
 */
export function requestedProjects(body: unknown, fallback: string[] = []): string[] {
  if (!isRecord(body) || !isRecord(body['event-filter']) || !('project-ids' in body['event-filter'])) return fallback;
  const ids = body['event-filter']['project-ids'];
  if (ids === null || ids === undefined) return [];
  if (!Array.isArray(ids)) return fallback;
  return [...new Set(ids.filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim()))];
}

/**
 * Reads a create (or, over `base`, an update) body into a subscription, or throws one 400 listing every
 * problem with its JSON path. `wrapperExists` says whether an action key's wrapper is registered.
 */
export async function readSubscription(body: unknown, owner: string, wrapperExists: (id: number) => Promise<boolean>,
  base?: NewSubscription): Promise<NewSubscription> {
  const errors: ErrorDetail[] = [];
  const fail = (path: string, message: string): void => { errors.push({ code: 'xapi.subscription.invalid', message, path }); };
  if (!isRecord(body)) {
    throw new XcsError('xapi.subscription.invalid', 'the body must be an event subscription object', { path: '' });
  }
  const has = (k: string): boolean => body[k] !== undefined;

  let name = base?.name ?? '';
  if (has('name') || !base) {
    if (typeof body.name !== 'string' || body.name.trim() === '') fail('/name', 'Subscription name must be defined and cannot be blank');
    else name = body.name.trim();
  }

  let active = base?.active ?? true;
  if (has('active')) {
    if (typeof body.active === 'boolean') active = body.active;
    else if (body.active === 'true' || body.active === 'false') active = body.active === 'true';
    else fail('/active', '"active" must be true or false');
  }

  let actionKey = base?.['action-key'] ?? '';
  if (has('action-key') || !base) {
    const key = typeof body['action-key'] === 'string' ? body['action-key'].trim() : '';
    const wid = wrapperIdOf(key);
    if (key === '') fail('/action-key', `"action-key" must be defined: ${ACTION_PROVIDER}:<wrapper id>`);
    else if (wid === null) fail('/action-key', `Unknown action "${key}": XCS provides only container actions, ${ACTION_PROVIDER}:<wrapper id>`);
    else if (!(await wrapperExists(wid))) fail('/action-key', `No wrapper with id ${wid} for action "${key}"`);
    else actionKey = key;
  }

  let attributes = base?.attributes ?? {};
  if (has('attributes')) {
    attributes = {};
    if (body.attributes === null) { /* none */ } else if (!isRecord(body.attributes)) fail('/attributes', '"attributes" must be an object of input name → value');
    else {
      for (const [k, v] of Object.entries(body.attributes)) {
        if (typeof v === 'string') attributes[k] = v;
        else if (typeof v === 'number' || typeof v === 'boolean') attributes[k] = String(v);
        else if (v !== null) fail(`/attributes/${k}`, `attribute "${k}" must be a string, number or boolean`);
      }
    }
  }

  const filter: EventFilter = base ? { ...base['event-filter'] } : { 'event-type': SESSION_EVENT, 'project-ids': [], status: 'CREATED', 'payload-filter': '' };
  if (has('event-filter') || !base) {
    const f = body['event-filter'];
    if (!isRecord(f)) fail('/event-filter', '"event-filter" must be an object with "event-type", "project-ids", "status" and "payload-filter"');
    else {
      if (f['event-type'] !== undefined || !base) {
        const t = f['event-type'];
        if (typeof t === 'string' && (SUBSCRIPTION_EVENT_TYPES as readonly string[]).includes(t)) filter['event-type'] = t as SubscriptionEventType;
        else fail('/event-filter/event-type', `Unknown event type ${JSON.stringify(t ?? null)}; XCS's container actions take ${SUBSCRIPTION_EVENT_TYPES.join(' or ')}`);
      }
      if (f['project-ids'] !== undefined) {
        const ids = f['project-ids'];
        if (ids !== null && (!Array.isArray(ids) || ids.some((p) => typeof p !== 'string' || p.trim() === ''))) {
          fail('/event-filter/project-ids', '"project-ids" must be a list of project ids (empty for every project)');
        } else filter['project-ids'] = requestedProjects({ 'event-filter': { 'project-ids': ids } });
      }
      if (f.status !== undefined || !base) {
        const st = f.status ?? 'CREATED';
        if (typeof st === 'string' && (SUBSCRIPTION_STATUSES as readonly string[]).includes(st)) filter.status = st as SubscriptionStatus;
        else fail('/event-filter/status', `Unknown status ${JSON.stringify(st)}; known: ${SUBSCRIPTION_STATUSES.join(', ')}`);
      }
      if (f['payload-filter'] !== undefined) {
        const pf = f['payload-filter'];
        if (pf !== null && typeof pf !== 'string') fail('/event-filter/payload-filter', '"payload-filter" must be a JsonPath filter string');
        else {
          const bodyOf = filterBody(pf ?? '');
          const check = bodyOf === '' ? { ok: true as const } : checkMatcherSyntax(bodyOf);
          if (check.ok) filter['payload-filter'] = bodyOf;
          else fail('/event-filter/payload-filter', `The payload filter is not a valid JsonPath filter: ${check.message} (at character ${check.position})`);
        }
      }
    }
  }
  if (!STATUSES_OF[filter['event-type']].includes(filter.status)) {
    fail('/event-filter/status', `Status ${filter.status} does not occur for ${filter['event-type']}; it has ${STATUSES_OF[filter['event-type']].join(', ')}`);
  }

  let actAs = base?.['act-as-event-user'] ?? false;
  if (has('act-as-event-user')) {
    const v = body['act-as-event-user'];
    if (typeof v === 'boolean') actAs = v;
    else if (v === 'true' || v === 'false') actAs = v === 'true';
    else fail('/act-as-event-user', '"act-as-event-user" must be true or false');
  }

  if (errors.length > 0) {
    throw new XcsError('xapi.subscription.invalid', errors.map((e) => `${e.path}: ${e.message}`).join('\n'), {
      path: errors[0].path, details: errors });
  }
  return { name, active, 'action-key': actionKey, attributes, 'event-filter': filter, 'act-as-event-user': actAs,
    'subscription-owner': base?.['subscription-owner'] ?? owner };
}

const CONVERTIBLE: Record<string, { type: SubscriptionEventType; status: SubscriptionStatus; label: string }> = {
  SessionArchived: { type: SESSION_EVENT, status: 'CREATED', label: 'session archived' },
  Merged: { type: SESSION_EVENT, status: 'MERGED', label: 'session merged' },
  ScanArchived: { type: SCAN_EVENT, status: 'CREATED', label: 'scan archived' },
};

/**
 * The inactive subscription a mapping converts into (§5.6). XCS's own mapping extension `xsi-type` (only
 * objects of that type or a derived one) becomes a payload filter listing those types, so that the
 * subscription fires on exactly the same objects.
 */
export function subscriptionOfMapping(m: CommandEventMapping, wrapper: { id: number; name: string }): NewSubscription {
  const conv = CONVERTIBLE[m['event-type']] as (typeof CONVERTIBLE)[string] | undefined;
  if (!conv) {
    throw new XcsError('xapi.mapping.not-convertible', `Command event mapping ${m.id} has event type "${m['event-type']}"; only ` +
      `${Object.keys(CONVERTIBLE).join(', ')} convert into Event Service subscriptions`, { path: '/event-type' });
  }
  const derived = m['xsi-type'] ? typesDerivedFrom(m['xsi-type']) : [];
  const types = m['xsi-type'] && derived.length === 0 ? [m['xsi-type']] : derived;
  return {
    name: `${wrapper.name} on ${conv.label} (converted from command event mapping ${m.id})`,
    active: false,
    'action-key': actionKeyOf(wrapper.id),
    attributes: {},
    'event-filter': { 'event-type': conv.type, 'project-ids': m.project ? [m.project] : [], status: conv.status,
      'payload-filter': types.length > 0 ? `@.xsiType in [${types.map((t) => `'${t}'`).join(', ')}]` : '' },
    'act-as-event-user': false,
    'subscription-owner': m['subscription-user-name'],
  };
}
