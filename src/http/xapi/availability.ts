/**
 * Which wrappers can run on what (reference §5.1 "available", §6.2, §6.4), and — beyond XNAT — why the
 * others cannot: `GET /xapi/availability?object=<archive URI>` checks every wrapper against one object and
 * lists, for each that cannot run, every failed check (context type, visibility, enablement, permissions,
 * matchers, the last taken from the resolver's explanation of the root input's candidates).
 */
import type { FastifyInstance } from 'fastify';
import { XcsError, messageOf } from '../../core/errors.ts';
import type { User } from '../../archive/users.ts';
import type { Archive } from '../../archive/types.ts';
import { isA } from '../../archive/xsi.ts';
import type { Command, CommandWrapper } from '../../command/model.ts';
import type { XnatObject } from '../../resolution/index.ts';
import { redactDeep, type LaunchPlanner } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import type { CommandCatalog } from '../../runtime/index.ts';
import { commandVisible } from './visibility.ts';
import type { CallbackNote } from './site-settings-keys.ts';

export interface CommandSummaryForContext {
  'command-id': number;
  'command-name': string;
  'command-label': string | null;
  'command-description': string | null;
  'wrapper-id': number;
  'wrapper-name': string;
  'wrapper-label': string | null;
  'wrapper-description': string | null;
  'wrapper-contexts': string[];
  'image-name': string;
  'image-type': string;
  enabled: boolean;
  'root-element-name': string;
  /** XCS: the command calls XNAT back, and whether its container would get a network (README "Calling-back tools"). */
  'calls-back'?: CallbackNote | null;
  /** XCS: where a run would be placed on a swarm (the constraints it gets without a choice, and the choices). */
  placement?: PlacementNote | null;
}

/** The swarm constraints a launch gets: the defaults (every constraint's first value) and what a user may choose. */
export interface PlacementNote {
  backend: string;
  constraints: string[];
  'user-settable': Array<{ attribute: string; comparator: string; values: string[] }>;
}

export type AvailabilityCheck = 'context' | 'visibility' | 'enablement' | 'permissions' | 'inputs' | 'matchers' | 'settings';

export interface Reason {
  check: AvailabilityCheck;
  message: string;
}

export function summary(command: Command, wrapper: CommandWrapper, enabled: boolean): CommandSummaryForContext {
  return {
    'command-id': command.id, 'command-name': command.name, 'command-label': command.label ?? null,
    'command-description': command.description ?? null, 'wrapper-id': wrapper.id, 'wrapper-name': wrapper.name,
    'wrapper-label': wrapper.label ?? null, 'wrapper-description': wrapper.description ?? null,
    'wrapper-contexts': [...wrapper.contexts], 'image-name': command.image, 'image-type': command.type,
    enabled, 'root-element-name': wrapper['external-inputs'][0]?.name ?? '',
  };
}

/** A wrapper's contexts accept the type when one of them is the type or an ancestor of it. */
export function acceptsType(wrapper: CommandWrapper, xsiType: string): boolean {
  return wrapper.contexts.some((c) => isA(xsiType, c));
}

export interface AvailabilityDeps {
  catalog: CommandCatalog;
  /** The launch-planning pipeline: enablement, configuration, pre-resolution of each wrapper against the object. */
  planner: LaunchPlanner;
  access: AccessControl;
  archive: Archive;
  /** What to say about a command that calls XNAT back, under the current server settings. */
  callbackNote?: (command: Command) => CallbackNote | null;
  /** Why the server settings refuse the command's runtime options (host network, ipc-mode host…), or null. */
  isolationNote?: (command: Command) => string | null;
  /** The placement runs get under the current server settings (null on a single engine). */
  placementNote?: () => PlacementNote | null;
}

export class Availability {
  readonly #d: AvailabilityDeps;

  constructor(deps: AvailabilityDeps) {
    this.#d = deps;
  }

  /** Whether the user may see the command (§6.4, `visibility.ts`). */
  visible(user: User | null, command: Command): Promise<boolean> {
    return commandVisible(this.#d.access, (id) => this.#d.catalog.enabledProjects(id), user, command);
  }

  /** Reasons the user lacks the permissions a wrapper needs in the project (read; edit when it writes outputs). */
  async permissionReasons(caller: User | null, wrapper: CommandWrapper, project: string): Promise<Reason[]> {
    // A run's token launches as its user, within its own project only (as `launch` checks).
    const user = caller?.scope
      ? (caller.scope.project === project ? (await this.#d.access.users.getUser(caller.login)) ?? null : null)
      : caller;
    if (!(await this.#d.access.can(user, 'read', project))) {
      return [{ check: 'permissions', message: `${caller?.login ?? 'guest'} cannot read project ${project}` }];
    }
    if (wrapper['output-handlers'].length > 0 && !(await this.#d.access.can(user, 'edit', project))) {
      return [{ check: 'permissions', message: `the wrapper uploads outputs (${wrapper['output-handlers'].map((h) => h.name).join(', ')}) and ${caller?.login ?? 'guest'} cannot edit in project ${project}` }];
    }
    return [];
  }

  /** XNAT's project listing: wrappers for the type that the user may run in the project. */
  async forProject(user: User | null, project: string, xsiType: string): Promise<CommandSummaryForContext[]> {
    if (xsiType.trim() === '') return [];
    const out: CommandSummaryForContext[] = [];
    for (const command of await this.#d.catalog.list()) {
      if (!(await this.visible(user, command))) continue;
      for (const wrapper of command.xnat) {
        if (wrapper['external-inputs'].length === 0 || !acceptsType(wrapper, xsiType)) continue;
        if ((await this.permissionReasons(user, wrapper, project)).length > 0) continue;
        out.push(summary(command, wrapper, (await this.#d.planner.enablement(wrapper.id, project)).enabled));
      }
    }
    return out;
  }

  async forSite(user: User | null, xsiType: string): Promise<CommandSummaryForContext[]> {
    if (xsiType.trim() === '') return [];
    const out: CommandSummaryForContext[] = [];
    for (const command of await this.#d.catalog.list()) {
      if (!(await this.visible(user, command))) continue;
      for (const wrapper of command.xnat) {
        if (!acceptsType(wrapper, xsiType)) continue;
        out.push(summary(command, wrapper, (await this.#d.planner.enablement(wrapper.id, null)).site));
      }
    }
    return out;
  }

  /** Every wrapper against one object: the runnable ones, and the others with every reason. */
  async explain(user: User, uri: string): Promise<{ object: { uri: string; 'xsi-type': string; project: string; label: string | null };
    available: CommandSummaryForContext[]; unavailable: Array<CommandSummaryForContext & { reasons: Reason[] }> }> {
    const source = this.#d.planner.source();
    const object: XnatObject | null = await source.getByUri(uri);
    const project = object ? String(object['project-id'] ?? (object.type === 'Project' ? object.id : '')) : '';
    // An object the user cannot read is reported exactly like one that does not exist.
    if (!object || !project || !(await this.#d.access.can(user, 'read', project))) {
      throw new XcsError('xapi.object.not-found', `No object ${uri} that you can read`, { status: 404, path: uri });
    }
    const xsiType = object.xsiType ?? '';
    const available: CommandSummaryForContext[] = [];
    const unavailable: Array<CommandSummaryForContext & { reasons: Reason[] }> = [];
    for (const command of await this.#d.catalog.list()) {
      if (!(await this.visible(user, command))) continue;
      for (const wrapper of command.xnat) {
        const reasons: Reason[] = [];
        if (!acceptsType(wrapper, xsiType)) {
          reasons.push({ check: 'context', message: `the wrapper runs on ${wrapper.contexts.join(', ') || 'no context'}, not on ${xsiType}` });
        }
        const { site, project: inProject } = await this.#d.planner.enablement(wrapper.id, project);
        if (!site) reasons.push({ check: 'enablement', message: `the wrapper is not enabled for the site (PUT /xapi/wrappers/${wrapper.id}/enabled)` });
        if (!inProject) reasons.push({ check: 'enablement', message: `the wrapper is not enabled in project ${project} (PUT /xapi/projects/${project}/wrappers/${wrapper.id}/enabled)` });
        reasons.push(...(await this.permissionReasons(user, wrapper, project)));
        const refused = this.#d.isolationNote?.(command) ?? null;
        if (refused) reasons.push({ check: 'settings', message: refused });
        const root = wrapper['external-inputs'][0];
        if (!root) reasons.push({ check: 'inputs', message: 'the wrapper has no external input to take an object' });
        else if (acceptsType(wrapper, xsiType)) reasons.push(...(await this.#matcherReasons(user, command, wrapper, root.name, uri, project)));
        const note = this.#d.callbackNote?.(command) ?? null;
        const placement = this.#d.placementNote?.() ?? null;
        const s = { ...summary(command, wrapper, site && inProject), ...(note ? { 'calls-back': note } : {}), ...(placement ? { placement } : {}) };
        if (reasons.length === 0) available.push(s);
        else unavailable.push({ ...s, reasons });
      }
    }
    return { object: { uri, 'xsi-type': xsiType, project, label: object.label ?? null }, available, unavailable };
  }

  async #matcherReasons(user: User, command: Command, wrapper: CommandWrapper, root: string, uri: string, project: string): Promise<Reason[]> {
    const configured = await this.#d.planner.configure({ command, wrapper }, project);
    // Explanations quote values: sensitive defaults (as configured) must not show in them.
    const secrets = configured.sensitiveDefaults;
    try {
      const { explanation, problem } = await this.#d.planner.preview(configured, { inputs: { [root]: uri }, user: user.login, project });
      if (problem !== null) return redactDeep([{ check: 'matchers', message: problem.message }], secrets);
      const reasons: Reason[] = [];
      for (const input of explanation.inputs) {
        if (input.kind === 'command' || input.values.some((v) => v !== null)) continue;
        const required = [...wrapper['external-inputs'], ...wrapper['derived-inputs']].find((i) => i.name === input.name)?.required !== false;
        if (!required) continue;
        const why = input.candidates.flatMap((c) => c.reasons.map((r) => `${c.label}: ${r}`));
        reasons.push({ check: 'matchers', message: `input "${input.name}" gets no value` +
          (input.matcher ? ` (matcher ${input.matcher})` : '') + (why.length ? `: ${why.join('; ')}` : input.note ? `: ${input.note}` : '') });
      }
      return redactDeep(reasons, secrets);
    } catch (e) {
      return redactDeep([{ check: 'matchers', message: `resolution failed: ${messageOf(e)}` }], secrets);
    }
  }
}

export function registerAvailabilityRoutes(app: FastifyInstance, availability: Availability, access: AccessControl): void {
  const tags = ['availability'];
  const q = (required: string[]) => ({ type: 'object', properties: { project: { type: 'string' }, xsiType: { type: 'string' },
    projects: { type: 'string' }, object: { type: 'string' } }, required });
  app.get<{ Querystring: { project: string; xsiType: string } }>('/xapi/commands/available',
    { schema: { tags, querystring: q(['project', 'xsiType']), summary: 'Wrappers the caller can run on a type in a project' } },
    async (request) => {
      const user = await access.requireProject(request, request.query.project, 'read');
      return availability.forProject(user, request.query.project, request.query.xsiType);
    });
  app.get<{ Params: { project: string }; Querystring: { xsiType: string } }>('/xapi/projects/:project/commands/available',
    { schema: { tags, querystring: q(['xsiType']), params: { type: 'object', properties: { project: { type: 'string' } }, required: ['project'] } } },
    async (request) => {
      const user = await access.requireProject(request, request.params.project, 'read');
      return availability.forProject(user, request.params.project, request.query.xsiType);
    });
  app.get<{ Querystring: { xsiType: string; projects?: string } }>('/xapi/commands/available/site',
    { schema: { tags, querystring: q(['xsiType']), summary: 'Site-level availability, or the intersection over projects' } },
    async (request) => {
      const user = access.requireUser(request);
      const projects = (request.query.projects ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      if (projects.length === 0) return availability.forSite(user, request.query.xsiType);
      let common: CommandSummaryForContext[] | null = null;
      for (const p of projects) {
        await access.requireProject(request, p, 'read');
        const here = await availability.forProject(user, p, request.query.xsiType);
        // A wrapper available in every project; enabled only when enabled in every one.
        common = common === null ? here : common.flatMap((c) => {
          const h = here.find((x) => x['wrapper-id'] === c['wrapper-id']);
          return h ? [{ ...c, enabled: c.enabled && h.enabled }] : [];
        });
      }
      return common ?? [];
    });
  app.get<{ Querystring: { object: string } }>('/xapi/availability', {
    schema: { tags, querystring: q(['object']),
      summary: 'XCS: every wrapper checked against one archive object, with the reasons those that cannot run cannot' },
  }, async (request) => availability.explain(access.requireUser(request), request.query.object));
}
