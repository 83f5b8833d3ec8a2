/**
 * XNAT's launch-UI endpoints (reference §5.3): `GET /xapi/wrappers/{id}/launch`,
 * `GET /xapi/commands/{id}/wrappers/{name}/launch` and their `/xapi/projects/{project}/...` forms. All query
 * parameters are launch values (`?session=/archive/experiments/XNAT_E00001`); the answer is the `LaunchUi`
 * built by `launch-ui-model.ts` from a pre-resolution of the wrapper with its site or project configuration.
 *
 * Access: a signed-in user who may see the command (`visibility.ts`; 404 otherwise, as for a missing wrapper);
 * project forms need read access to the project (404, the same whether it exists or not). Every archive object named by a launch value must be readable by the caller: a missing object and
 * an unreadable one get the same 404, so the launch UI cannot be used to probe the archive (XNAT answers 400
 * "Invalid … uri" for a missing one). Enablement does not stop the UI (XNAT renders it); `meta.enabled` says
 * whether a launch would be accepted. Pre-resolution failures answer XNAT's 400 text
 * `The command has failed in the pre-resolution step.\n<msg>`; a client asking for JSON gets the message with
 * the explanation of the failing input instead.
 *
 * The bulk launch UI (`GET …/bulklaunch`, same four forms) is this model for `?sampleTarget=` given to the
 * input `?rootElement=`, with the inputs that change per target marked `derived`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteHandlerMethod, RouteShorthandOptions } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { User } from '../../archive/users.ts';
import { archiveUri, isXnatType, type XnatObject, type XnatObjectSource } from '../../resolution/index.ts';
import { sensitiveInputNames } from '../../command/sensitive.ts';
import { redact, redactDeep, type LaunchPlanner, type WrapperRef } from '../../runtime/index.ts';
import type { AccessControl } from './access.ts';
import type { CommandCatalog } from '../../runtime/index.ts';
import { buildLaunchUi, MASK, type LaunchUi } from './launch-ui-model.ts';
import { slurmPlacementInputs } from './launch-ui-slurm.ts';
import type { SettingsStore } from './settings.ts';
import { callbackNote } from './site-settings-keys.ts';
import { commandVisible, notVisible } from './visibility.ts';

export interface LaunchUiDeps {
  catalog: CommandCatalog;
  /** The launch-planning pipeline: wrapper, enablement, configuration, pre-resolution. */
  planner: LaunchPlanner;
  access: AccessControl;
  settings: SettingsStore;
}

type P = Record<string, string | undefined>;

const PRE_RESOLUTION_FAILED = 'The command has failed in the pre-resolution step.\n';

async function wrapperOf(planner: LaunchPlanner, params: P): Promise<WrapperRef> {
  const id = (v: string | undefined, what: string): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new XcsError(`xapi.${what}.bad-id`, `"${v ?? ''}" is not a ${what} id`, { status: 400, path: v ?? '' });
    return Number(v);
  };
  if (params.wid !== undefined) return planner.wrapper({ wrapperId: id(params.wid, 'wrapper') });
  return planner.wrapper({ commandId: id(params.cid, 'command'), wrapperName: params.wname ?? '' });
}

/** Query values as XNAT's `@RequestParam Map<String,String>` sees them: the first of repeated keys. */
function launchValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof query !== 'object' || query === null) return out;
  for (const [k, v] of Object.entries(query)) {
    const first: unknown = Array.isArray(v) ? v[0] : v;
    if (first !== undefined && first !== null) out[k] = String(first);
  }
  return out;
}

function unreadable(user: User, value: string): XcsError {
  return new XcsError('xapi.object.not-found', `user ${user.login} cannot read ${value}`, { status: 404, path: value,
    hint: 'the object does not exist or you have no access to its project' });
}

/**
 * Checks every archive object a launch value names for an external input of an object type, and returns the
 * objects by input name. Values given as JSON objects name nothing in the archive and are left to resolution.
 */
async function readableObjects(source: XnatObjectSource, user: User, ref: WrapperRef, values: Record<string, string>,
  project: string | null): Promise<Map<string, XnatObject>> {
  const out = new Map<string, XnatObject>();
  for (const input of ref.wrapper['external-inputs']) {
    const v = values[input.name]?.trim();
    if (!v || v.startsWith('{') || !isXnatType(input.type)) continue;
    const o = v.startsWith('/') ? await source.getByUri(archiveUri(v)) : await source.getById(input.type, v, project);
    if (!o || !(await source.canRead(user.login, o))) throw unreadable(user, v);
    out.set(input.name, o);
  }
  return out;
}

function projectOfObject(o: XnatObject): string | null {
  const p = o['project-id'] ?? (o.type === 'Project' ? o.id : undefined);
  return typeof p === 'string' ? p : null;
}

/**
 * The bulk form's own parameters (§5.3): `rootElement` names the external input that takes each target, and
 * `sampleTarget` the object whose values are shown. XNAT answers a blank sample with a 500; a missing
 * parameter is the caller's mistake, so we answer 400 with XNAT's words.
 */
function bulkParams(ref: WrapperRef, values: Record<string, string>): { name: string; sampleTarget: string } {
  const rootElement = values.rootElement?.trim() ?? '';
  const sampleTarget = values.sampleTarget?.trim() ?? '';
  delete values.rootElement;
  delete values.sampleTarget;
  const inputs = ref.wrapper['external-inputs'].map((i) => i.name);
  if (rootElement === '') {
    throw new XcsError('xapi.bulk.no-root', 'The command could not be resolved.\nNo root element specified', { status: 400, path: 'rootElement',
      hint: `add ?rootElement= with one of the wrapper's external inputs: ${inputs.join(', ') || 'none'}` });
  }
  if (!inputs.includes(rootElement)) {
    throw new XcsError('xapi.bulk.bad-root', `Wrapper "${ref.wrapper.name}" has no external input "${rootElement}"`, { status: 400, path: 'rootElement',
      hint: `its external inputs: ${inputs.join(', ') || 'none'}` });
  }
  if (sampleTarget === '') {
    throw new XcsError('xapi.bulk.no-sample', 'The command could not be resolved.\nNo sample target specified', { status: 400, path: 'sampleTarget',
      hint: 'add ?sampleTarget= with the archive URI of one of the objects to launch on' });
  }
  values[rootElement] = sampleTarget;
  return { name: rootElement, sampleTarget };
}

async function launchUi(deps: LaunchUiDeps, request: FastifyRequest, reply: FastifyReply, bulk = false): Promise<LaunchUi | FastifyReply> {
  const params = request.params as P;
  const pathProject = params.project ?? null;
  const user = pathProject === null ? deps.access.requireUser(request) : await deps.access.requireProject(request, pathProject, 'read');
  const ref = await wrapperOf(deps.planner, params);
  if (!(await commandVisible(deps.access, (id) => deps.catalog.enabledProjects(id), user, ref.command))) {
    throw notVisible(params.wid !== undefined ? { wrapperId: ref.wrapper.id } : { commandId: ref.command.id }, 'xapi.');
  }
  const values = launchValues(request.query);
  const bulkRoot = bulk ? bulkParams(ref, values) : undefined;
  const source = deps.planner.source();
  const objects = await readableObjects(source, user, ref, values, pathProject);
  // The project a launch of these values would run in, as the launch endpoint decides it: the path's, else
  // the root object's. The configuration is the path's scope, as in XNAT.
  const rootName = ref.wrapper['external-inputs'].find((i) => objects.has(i.name))?.name;
  const project = pathProject ?? (rootName ? projectOfObject(objects.get(rootName) as XnatObject) : null);
  const configured = await deps.planner.configure(ref, pathProject);
  const { command, config } = configured;
  // Sensitive values given in the query and sensitive defaults (as configured) show nowhere in the answer.
  const sensitive = sensitiveInputNames(ref.command, ref.wrapper);
  const secrets = [...Object.entries(values).filter(([k, v]) => sensitive.has(k) && v !== MASK).map(([, v]) => v),
    ...configured.sensitiveDefaults];
  const { explanation, problem: e } = await deps.planner.preview(configured, { inputs: values, source, user: user.login, project });
  if (e !== null) {
    if (e.code === 'resolution.input.forbidden' || e.code === 'resolution.input.invalid-uri' || e.code === 'resolution.input.not-found') {
      throw unreadable(user, values[e.path ?? ''] ?? e.path ?? '');
    }
    if ((request.headers.accept ?? '').includes('application/json')) {
      // The failing input's explanation, with the values of sensitive inputs left out.
      const about = e.explanation.inputs.filter((i) => i.name === e.path)
        .map((i) => (sensitive.has(i.name) ? { ...i, values: i.values.map((v) => (v === null ? null : MASK)) } : i));
      return reply.code(400).type('application/json').send(redactDeep({ code: e.code, message: PRE_RESOLUTION_FAILED + e.message,
        ...(e.path ? { path: e.path } : {}), explanation: about }, secrets));
    }
    return reply.code(400).type('text/plain; charset=utf-8').send(redact(PRE_RESOLUTION_FAILED + e.message, secrets));
  }
  const server = deps.settings.server();
  return redactDeep(buildLaunchUi({
    command, wrapperId: ref.wrapper.id, config, explanation,
    swarmConstraints: server['swarm-constraints'],
    callsBack: callbackNote(command, server),
    placementInputs: slurmPlacementInputs(server, command, configured.wrapper, values),
    enabled: (await deps.planner.enablement(ref.wrapper.id, project)).enabled,
    ...(bulkRoot ? { bulkRoot } : {}),
  }), secrets);
}

export function registerLaunchUiRoutes(app: FastifyInstance, deps: LaunchUiDeps): void {
  const forms = [
    '/xapi/wrappers/:wid/launch',
    '/xapi/commands/:cid/wrappers/:wname/launch',
    '/xapi/projects/:project/wrappers/:wid/launch',
    '/xapi/projects/:project/commands/:cid/wrappers/:wname/launch',
  ];
  for (const url of forms) {
    const keys = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]);
    route(app, 'GET', url, {
      schema: {
        tags: ['launch'],
        summary: 'Launch UI: the wrapper\'s inputs pre-resolved for the objects given as query parameters',
        params: { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'string' }])), required: keys },
        querystring: { type: 'object', additionalProperties: true },
      },
    }, async (request, reply) => launchUi(deps, request, reply));
    route(app, 'GET', url.replace(/\/launch$/, '/bulklaunch'), {
      schema: {
        tags: ['launch'],
        summary: 'Bulk launch UI: the launch UI for a sample target (?rootElement=&sampleTarget=), per-target inputs marked derived',
        params: { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'string' }])), required: keys },
        querystring: { type: 'object', properties: { rootElement: { type: 'string' }, sampleTarget: { type: 'string' } }, additionalProperties: true },
      },
    }, async (request, reply) => launchUi(deps, request, reply, true));
  }
}

/** The routes as a Fastify plugin, for servers that assemble the stores themselves. */
export const launchUiPlugin: FastifyPluginAsync<LaunchUiDeps> = async (app, deps) => {
  registerLaunchUiRoutes(app, deps);
};

function route(app: FastifyInstance, method: 'GET' | 'POST', url: string, opts: RouteShorthandOptions, handler: RouteHandlerMethod): void {
  app.route({ method, url, ...opts, handler });
}
