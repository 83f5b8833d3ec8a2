/**
 * Launch endpoints in XNAT's paths (reference §5.3): by wrapper id or by command id + wrapper name, site or
 * project scoped. Inputs come from the query string, a form, or a JSON body `{name: value}`. The answer is
 * XNAT's LaunchReport; `id` is the new container (run) id. A user who may not see the command (§6.4,
 * `visibility.ts`) gets the failure report of a wrapper that does not exist (404).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isXcsError, messageOf } from '../../core/errors.ts';
import { sensitiveInputNames } from '../../command/sensitive.ts';
import { launch, type LaunchRequest, type WrapperRef } from '../../runtime/index.ts';
import { redactDeep, SENSITIVE_MASK } from '../../runtime/index.ts';
import { httpStatusOf } from '../error-mapping.ts';
import type { AccessControl } from './access.ts';
import { intParam, userOf, type XapiContext } from './context.ts';
import { commandVisible, enabledProjectsOf, notVisible } from './visibility.ts';

interface LaunchParams {
  id?: string;
  name?: string;
  /** The root-less forms share their paths with the launch UI's GET routes, so they take its parameter names. */
  wid?: string;
  cid?: string;
  wname?: string;
  project?: string;
  /** Absent on XNAT's deprecated forms without `/root/{rootElement}`. */
  root?: string;
}

/**
 * The deprecated forms name no root element (XNAT launches with none). We take the first external input that
 * has a value, so that the run gets the root object's project and the launch the same permission check as
 * the `/root/{rootElement}` forms; a launch that names no external input at all goes on without a root.
 */
function inferredRoot(found: WrapperRef, params: Record<string, string>): string | null {
  return found.wrapper['external-inputs'].find((i) => params[i.name] !== undefined)?.name ?? null;
}

function inputsOf(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (o: unknown): void => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined || v === null) continue;
      out[k] = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  };
  add(request.query);
  add(request.body);
  return out;
}

/**
 * The report echoes the launch values: those of sensitive inputs are masked as in the container JSON (§6.5), and
 * the values themselves are the secrets the whole report (error messages included) is redacted with.
 */
function maskSensitive(found: WrapperRef | null, params: Record<string, string>): { shown: Record<string, string>; secrets: string[] } {
  // No such wrapper: nothing is known to be sensitive, and the launch fails on it anyway.
  if (found === null) return { shown: params, secrets: [] };
  const names = sensitiveInputNames(found.command, found.wrapper);
  const secrets = Object.entries(params).filter(([k, v]) => names.has(k) && v !== SENSITIVE_MASK).map(([, v]) => v);
  return { shown: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, names.has(k) ? SENSITIVE_MASK : v])), secrets };
}

export function registerLaunchRoutes(app: FastifyInstance, ctx: XapiContext, access: AccessControl): void {
  const projects = enabledProjectsOf(ctx);
  const handler = (byName: boolean) => async (request: FastifyRequest<{ Params: LaunchParams }>, reply: import('fastify').FastifyReply) => {
    const user = userOf(request);
    const raw = request.params;
    const p = { ...raw, id: raw.id ?? raw.wid ?? raw.cid, name: raw.name ?? raw.wname };
    const params = inputsOf(request);
    const wrapper: LaunchRequest['wrapper'] = byName
      ? { commandId: intParam(p.id ?? '', 'command id'), wrapperName: p.name ?? '' }
      : { wrapperId: intParam(p.id ?? '', 'wrapper id') };
    const ids = byName ? { 'command-id': Number(p.id), 'wrapper-id': null } : { 'command-id': null, 'wrapper-id': Number(p.id) };
    // The one lookup of the wrapper for this launch; a missing one is reported below, like any refusal.
    const lookup = await ctx.planner.wrapper(wrapper, '').then((found) => ({ found, error: null }), (error: unknown) => ({ found: null, error }));
    const { shown, secrets } = maskSensitive(lookup.found, params);
    try {
      const found = lookup.found;
      if (found === null) throw lookup.error;
      if (!(await commandVisible(access, projects, user, found.command))) {
        throw notVisible('wrapperId' in wrapper ? wrapper : { commandId: wrapper.commandId });
      }
      const rootElement = p.root ?? inferredRoot(found, params);
      const run = await launch(ctx, { wrapper, found, rootElement, params, user: user.login, project: p.project ?? null,
        ...(user.scope ? { confinedTo: user.scope.project } : {}) });
      return redactDeep({ status: 'success', params: shown, id: run.id, 'command-id': run.commandId, 'wrapper-id': run.wrapperId,
        'workflow-id': 'To be assigned' }, secrets);
    } catch (e) {
      const status = isXcsError(e) ? httpStatusOf(e) : 500;
      return reply.code(status).send(redactDeep({
        status: 'failure', params: shown, id: null, ...ids, message: messageOf(e),
        ...(isXcsError(e) ? { code: e.code, ...(e.hint ? { hint: e.hint } : {}), ...(e.path ? { path: e.path } : {}) } : {}),
      }, secrets));
    }
  };
  app.post('/xapi/wrappers/:id/root/:root/launch', handler(false));
  app.post('/xapi/projects/:project/wrappers/:id/root/:root/launch', handler(false));
  app.post('/xapi/projects/:project/wrapper/:id/root/:root/launch', handler(false));
  app.post('/xapi/commands/:id/wrappers/:name/root/:root/launch', handler(true));
  app.post('/xapi/projects/:project/commands/:id/wrappers/:name/root/:root/launch', handler(true));
  // XNAT's deprecated forms without a root element (reference §5.3).
  app.post('/xapi/wrappers/:wid/launch', handler(false));
  app.post('/xapi/projects/:project/wrappers/:wid/launch', handler(false));
  app.post('/xapi/projects/:project/wrapper/:wid/launch', handler(false));
  app.post('/xapi/commands/:cid/wrappers/:wname/launch', handler(true));
  app.post('/xapi/projects/:project/commands/:cid/wrappers/:wname/launch', handler(true));
}
