/**
 * Bulk launch (reference §5.3, §7.4): one wrapper on many root objects, each a separate run, answered with
 * XNAT's `BulkLaunchReport` `{bulk-launch-id, pipeline-name, successes[], failures[]}`.
 *
 * Differences from XNAT, on purpose: project paths check that the caller can read the project (XNAT checks
 * nothing there); every target is launched before answering, so a failure is reported in `failures` with its
 * reason instead of surfacing later on a workflow; `?dryRun=true` resolves each target without launching and
 * reports which would launch and why the others would not. Concurrency is the run engine's: runs beyond its
 * limit wait `Queued`.
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod, RouteShorthandOptions } from 'fastify';
import { maskParams, SENSITIVE_MASK, sensitiveDefaults, sensitiveInputNames } from '../../command/sensitive.ts';
import { XcsError, isXcsError, messageOf } from '../../core/errors.ts';
import { redactDeep, type LaunchPlanner } from '../../runtime/index.ts';
import type { User } from '../../archive/users.ts';
import type { AccessControl } from './access.ts';
import type { BatchRecorder, CommandCatalog, Launcher, WrapperRef } from '../../runtime/index.ts';
import { commandVisible, notVisible } from './visibility.ts';
import { checkJsonDepth } from '../json-body.ts';

export interface LaunchSuccess {
  status: 'success';
  params: Record<string, string>;
  id: number | null;
  'command-id': number;
  'wrapper-id': number;
  'workflow-id': string;
}

export interface LaunchFailure {
  status: 'failure';
  params: Record<string, string>;
  id: null;
  'command-id': number;
  'wrapper-id': number;
  message: string;
  /** XCS: the error code, for programs. */
  code?: string;
}

export interface BulkLaunchReport {
  'bulk-launch-id': string;
  'pipeline-name': string;
  'dry-run'?: boolean;
  successes: LaunchSuccess[];
  failures: LaunchFailure[];
}

export interface BulkLaunchDeps {
  /** The launch-planning pipeline: enablement per target, and for dry runs configuration and pre-resolution. */
  planner: LaunchPlanner;
  access: AccessControl;
  launcher: Launcher | null;
}

/** `body[root]` is a JSON-stringified array in XNAT; a plain array or a single string is accepted too. */
export function targetsOf(body: Record<string, unknown>, root: string): string[] {
  const raw = body[root];
  let list: unknown = raw;
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (t.startsWith('[')) {
      // JSON.parse takes seconds and hundreds of MB on millions of nested brackets: refuse those first.
      checkJsonDepth(t);
      try {
        list = JSON.parse(t);
      } catch (e) {
        throw new XcsError('xapi.bulk.bad-targets', `"${root}" is not a JSON list of targets: ${messageOf(e)}`, { status: 400, path: `/${root}` });
      }
    } else list = t === '' ? [] : [t];
  }
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.trim() !== '')) {
    throw new XcsError('xapi.bulk.no-targets', `the body needs "${root}": a non-empty list of archive URIs or ids`, { status: 400, path: `/${root}` });
  }
  return list as string[];
}

export class BulkLauncher {
  readonly #d: BulkLaunchDeps;

  constructor(deps: BulkLaunchDeps) {
    this.#d = deps;
  }

  async run(user: User, ref: WrapperRef, root: string, body: Record<string, unknown>, project: string | null, dryRun: boolean): Promise<BulkLaunchReport> {
    const { command, wrapper } = ref;
    if (!wrapper['external-inputs'].some((i) => i.name === root)) {
      throw new XcsError('xapi.bulk.bad-root', `Wrapper "${wrapper.name}" has no external input "${root}"`, { status: 400, path: root,
        hint: `its external inputs: ${wrapper['external-inputs'].map((i) => i.name).join(', ') || 'none'}` });
    }
    const targets = targetsOf(body, root);
    const common: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === root) continue;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') common[k] = String(v);
      else throw new XcsError('xapi.bulk.bad-value', `input "${k}" must be a string, number or boolean`, { status: 400, path: `/${k}` });
    }
    if (!dryRun && !this.#d.launcher) {
      throw new XcsError('xapi.launch.unavailable', 'This server has no run engine, so nothing can be launched', { status: 503 });
    }
    const report: BulkLaunchReport = {
      'bulk-launch-id': `bulk-${user.login}${Date.now()}${randomInt(1000)}`, 'pipeline-name': wrapper.name,
      ...(dryRun ? { 'dry-run': true } : {}), successes: [], failures: [],
    };
    // Echoed values of sensitive inputs are masked, and the whole report is redacted with them and with the
    // sensitive defaults (as configured for each target's project), which messages may quote.
    const sensitive = sensitiveInputNames(command, wrapper);
    const secrets = [...Object.entries(common).filter(([k, v]) => sensitive.has(k) && v !== SENSITIVE_MASK).map(([, v]) => v),
      ...sensitiveDefaults(command, wrapper)];
    // A masked value posted back means "keep the default", as in a single launch.
    const given = Object.fromEntries(Object.entries(common).filter(([k, v]) => !(sensitive.has(k) && v === SENSITIVE_MASK)));
    const batches = dryRun ? undefined : this.#d.launcher?.batches;
    batches?.open(report['bulk-launch-id'], user.login);
    try {
      await this.#launchAll(targets, { common, given, sensitive, secrets, root, project, user, command, wrapper, dryRun, report, batches });
    } finally {
      batches?.close(report['bulk-launch-id']);
    }
    return redactDeep(report, secrets);
  }

  async #launchAll(targets: string[], o: { common: Record<string, string>; given: Record<string, string>; sensitive: Set<string>;
    /** Grows with the sensitive defaults of each target's project configuration (dry runs quote them). */
    secrets: string[]; root: string; project: string | null; user: User;
    command: WrapperRef['command']; wrapper: WrapperRef['wrapper']; dryRun: boolean; report: BulkLaunchReport; batches: BatchRecorder | undefined }): Promise<void> {
    const { common, given, sensitive, secrets, root, project, user, command, wrapper, dryRun, report } = o;
    for (const target of targets) {
      const params = maskParams(sensitive, { ...common, [root]: target });
      const fail = (e: unknown): void => {
        report.failures.push({ status: 'failure', params, id: null, 'command-id': command.id, 'wrapper-id': wrapper.id,
          message: messageOf(e), ...(isXcsError(e) ? { code: e.code } : {}) });
      };
      try {
        const targetProject = project ?? (await this.#projectOf(target));
        if (targetProject === null || !(await this.#d.access.can(user, 'read', targetProject))) {
          throw new XcsError('xapi.object.not-found', `No object ${target} that you can read`, { status: 404, path: target });
        }
        if (!(await this.#d.planner.enablement(wrapper.id, targetProject)).enabled) {
          throw new XcsError('wrapper.disabled', `Wrapper ${wrapper.id} is not enabled for the site and project ${targetProject}`, { status: 400, path: String(wrapper.id) });
        }
        if (dryRun) {
          const configured = await this.#d.planner.configure({ command, wrapper }, targetProject);
          secrets.push(...configured.sensitiveDefaults);
          const { explanation, problem: e } = await this.#d.planner.preview(configured,
            { inputs: { ...given, [root]: target }, user: user.login, project: targetProject });
          const problem = e === null ? null : e.message;
          const rootEx = explanation.inputs.find((i) => i.name === root);
          if (problem !== null || (rootEx && !rootEx.values.some((v) => v !== null))) {
            const why = rootEx?.candidates.flatMap((c) => c.reasons) ?? [];
            const detail = why.length > 0 ? why.join('; ') : rootEx?.note ?? problem ?? '';
            throw new XcsError('xapi.bulk.no-match', `"${target}" does not resolve for input "${root}"${detail ? `: ${detail}` : ''}` +
              (problem !== null && why.length > 0 ? ` (${problem})` : ''), { status: 400, path: target });
          }
          report.successes.push({ status: 'success', params, id: null, 'command-id': command.id, 'wrapper-id': wrapper.id, 'workflow-id': 'To be assigned' });
          continue;
        }
        const outcome = await this.#d.launcher!.launch({ wrapperId: wrapper.id, rootElement: root, inputs: { ...given, [root]: target }, project: targetProject, user });
        o.batches?.add(report['bulk-launch-id'], outcome.id);
        report.successes.push({ status: 'success', params, id: outcome.id, 'command-id': command.id, 'wrapper-id': wrapper.id,
          'workflow-id': outcome.workflowId ?? 'To be assigned' });
      } catch (e) {
        fail(e);
      }
    }
  }

  async #projectOf(target: string): Promise<string | null> {
    const o = await this.#d.planner.source().getByUri(target);
    if (!o) return null;
    const p = o['project-id'] ?? (o.type === 'Project' ? o.id : undefined);
    return typeof p === 'string' ? p : null;
  }
}

export function registerBulkLaunchRoutes(app: FastifyInstance, bulk: BulkLauncher,
  deps: { catalog: CommandCatalog; planner: LaunchPlanner; access: AccessControl }): void {
  const forms = [
    '/xapi/wrappers/:wid/root/:root/bulklaunch',
    '/xapi/commands/:cid/wrappers/:wname/root/:root/bulklaunch',
    '/xapi/projects/:project/wrappers/:wid/root/:root/bulklaunch',
    '/xapi/projects/:project/commands/:cid/wrappers/:wname/root/:root/bulklaunch',
    // XNAT's deprecated forms without a root element: the body's external input holding the targets is it.
    '/xapi/wrappers/:wid/bulklaunch',
    '/xapi/commands/:cid/wrappers/:wname/bulklaunch',
    '/xapi/projects/:project/wrappers/:wid/bulklaunch',
    '/xapi/projects/:project/commands/:cid/wrappers/:wname/bulklaunch',
  ];
  for (const url of forms) {
    const keys = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]);
    route(app, 'POST', url, {
      schema: {
        tags: ['launch'], summary: 'Launch a wrapper on many root objects (JSON body; ?dryRun=true only checks)',
        params: { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'string' }])), required: keys },
        querystring: { type: 'object', properties: { dryRun: { type: 'string', enum: ['true', 'false'] } } },
        body: { type: 'object' },
      },
    }, async (request: FastifyRequest) => {
      const p = request.params as Record<string, string>;
      const user = deps.access.requireUser(request);
      if (p.project) await deps.access.requireProject(request, p.project, 'read');
      const ref = await deps.planner.wrapper(p.wid !== undefined ? { wrapperId: idOf(p.wid, 'wrapper') }
        : { commandId: idOf(p.cid, 'command'), wrapperName: p.wname });
      // A command the caller may not see is answered as a missing one, dry run or not.
      if (!(await commandVisible(deps.access, (id) => deps.catalog.enabledProjects(id), user, ref.command))) {
        throw notVisible(p.wid !== undefined ? { wrapperId: ref.wrapper.id } : { commandId: ref.command.id }, 'xapi.');
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      return bulk.run(user, ref, p.root ?? rootOf(ref, body), body, p.project ?? null,
        (request.query as Record<string, string>).dryRun === 'true');
    });
  }
}

/**
 * The root element of a root-less bulk launch: the external input the body gives values for; when it gives
 * several, the one holding a list.
 */
export function rootOf(ref: WrapperRef, body: Record<string, unknown>): string {
  const given = ref.wrapper['external-inputs'].map((i) => i.name).filter((n) => body[n] !== undefined);
  const lists = given.filter((n) => Array.isArray(body[n]) || (typeof body[n] === 'string' && body[n].trim().startsWith('[')));
  const root = given.length === 1 ? given[0] : lists.length === 1 ? lists[0] : undefined;
  if (root !== undefined) return root;
  const names = ref.wrapper['external-inputs'].map((i) => i.name).join(', ') || 'none';
  throw new XcsError('xapi.bulk.no-root', given.length === 0
    ? `The body gives no targets: name one of the wrapper's external inputs (${names}) with a list of archive URIs`
    : `The body gives lists for several external inputs (${lists.join(', ') || given.join(', ')}); use the /root/{rootElement}/bulklaunch form to say which takes the targets`,
  { status: 400, path: '/', hint: `external inputs of wrapper "${ref.wrapper.name}": ${names}` });
}

function idOf(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new XcsError(`xapi.${what}.bad-id`, `"${s}" is not a ${what} id`, { status: 400, path: s });
  return Number(s);
}

function route(app: FastifyInstance, method: 'GET' | 'POST', url: string, opts: RouteShorthandOptions, handler: RouteHandlerMethod): void {
  app.route({ method, url, ...opts, handler });
}
