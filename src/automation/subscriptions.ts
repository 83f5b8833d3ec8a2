/**
 * Active Event Service subscriptions at run time (reference §7.3), as a hook of the automation dispatcher:
 * an archived session is XNAT's SessionEvent with status CREATED, an archived scan its ScanEvent CREATED.
 * The embedded archive emits nothing like a merge (a DICOM re-import adds to a session without a new
 * event), so MERGED subscriptions are stored and listed but never fire here.
 *
 * For each active subscription whose filter takes the event (its projects, or any when it has none; its
 * payload filter, if any, matching the object's JSON as matchers see it, §2.2), the wrapper of its action
 * key is launched through the dispatcher's `Launcher` — so enablement and permissions are checked as for any
 * launch — as the subscription's owner (or the event's user with `act-as-event-user`), with the subscription's
 * attributes plus `{<first external input>: <archive URI of the object>}`, in the filter's only project or
 * else the event's.
 */
import type { ArchiveEvent, ArchiveEventName } from '../archive/events.ts';
import type { UserDirectory } from '../archive/users.ts';
import { messageOf } from '../core/errors.ts';
import { matches, type JsonValue } from '../matcher/index.ts';
import type { CommandCatalog, Launcher } from '../runtime/index.ts';
import { findWrapperById } from '../runtime/index.ts';
import type { ArchiveHook, AutomationOutcome } from './dispatcher.ts';
import type { AutomationStore } from './store.ts';
import { SCAN_EVENT, SESSION_EVENT, wrapperIdOf, type StoredSubscription, type SubscriptionEventType } from './subscription-model.ts';

const EVENT_OF: Partial<Record<ArchiveEventName, SubscriptionEventType>> = {
  'session.archived': SESSION_EVENT,
  'scan.archived': SCAN_EVENT,
};

export interface SubscriptionRunnerDeps {
  store: AutomationStore;
  catalog: CommandCatalog;
  launcher: Launcher;
  users: UserDirectory;
  /** The object's JSON for payload filters (null when it is gone). */
  objectJson: (uri: string) => Promise<JsonValue | null>;
}

/** Whether a subscription's filter takes the event, before the payload filter (which needs the object). */
export function takesEvent(s: StoredSubscription, type: SubscriptionEventType, project: string): boolean {
  const f = s['event-filter'];
  return s.active && f['event-type'] === type && f.status === 'CREATED'
    && (f['project-ids'].length === 0 || f['project-ids'].includes(project));
}

export class SubscriptionRunner implements ArchiveHook {
  readonly name = 'event service subscriptions';
  readonly events = Object.keys(EVENT_OF) as ArchiveEventName[];
  readonly #deps: SubscriptionRunnerDeps;

  constructor(deps: SubscriptionRunnerDeps) {
    this.#deps = deps;
  }

  async handle(name: ArchiveEventName, e: ArchiveEvent, note: (o: AutomationOutcome) => void): Promise<void> {
    const type = EVENT_OF[name];
    if (!type) return;
    const subs = (await this.#deps.store.subscriptions()).filter((s) => takesEvent(s, type, e.project));
    let object: JsonValue | null | undefined;
    for (const s of subs) {
      const source = `event service subscription ${s.id}`;
      const wrapperId = wrapperIdOf(s['action-key']);
      try {
        const filter = s['event-filter']['payload-filter'];
        if (filter !== '') {
          object ??= await this.#deps.objectJson(e.uri);
          // Not a failure: the subscription does not want this object.
          if (object === null || !matches(filter, object)) continue;
        }
        const found = wrapperId === null ? undefined : await findWrapperById(this.#deps.catalog, wrapperId);
        if (!found) throw new Error(`action "${s['action-key']}" names no registered wrapper`);
        const root = found.wrapper['external-inputs'][0];
        if (!root) throw new Error(`wrapper "${found.wrapper.name}" has no external input to take ${e.uri}`);
        const login = s['act-as-event-user'] && e.user ? e.user : s['subscription-owner'];
        const projects = s['event-filter']['project-ids'];
        const out = await this.#deps.launcher.launch({
          wrapperId: found.wrapper.id, rootElement: root.name, inputs: { ...s.attributes, [root.name]: e.uri },
          project: projects.length === 1 ? projects[0] : e.project, user: await this.#deps.users.requireUser(login),
        });
        note({ source, wrapperId, target: e.uri, runId: out.id });
      } catch (err) {
        note({ source, wrapperId, target: e.uri, error: messageOf(err) });
      }
    }
  }
}
