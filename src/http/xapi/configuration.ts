/**
 * Wrapper configuration and enablement (reference §2.1 "Configuration", §5.2).
 *
 * A configuration is stored per wrapper for the site and per project:
 * `{enabled, inputs: {name: {default-value, matcher, user-settable, advanced}}, outputs: {name: {label}}}`.
 * The project view is the site view overlaid field by field (a non-null project field wins). Applying a
 * configuration to a command replaces, for every configured input, its `default-value` and `matcher`, and
 * for wrapper inputs `user-settable`; and each configured output handler's `label`.
 *
 * Enablement itself (site flag, project flags) lives in the command registry; the routes here answer for it in
 * the by-name forms (`/commands/{id}/wrappers/{name}/enabled`), `commands-routes.ts` in the by-id forms.
 */
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions, RouteHandlerMethod } from 'fastify';
import { XcsError } from '../../core/errors.ts';
import type { Command, CommandWrapper } from '../../command/model.ts';
import type { CommandConfiguration, InputConfig } from '../../command/configuration.ts';

export { applyConfiguration, type CommandConfiguration, type InputConfig } from '../../command/configuration.ts';
import type { ConfigStore } from '../../stores/wrapper-config-store.ts';

export { ConfigStore } from '../../stores/wrapper-config-store.ts';
import { SENSITIVE_MASK, sensitiveInputNames } from '../../command/sensitive.ts';
import type { AccessControl } from './access.ts';
import { requireWrapper, requireWrapperByName, type CommandCatalog, type WrapperRef } from '../../runtime/index.ts';

export interface ConfigInputView {
  description: string | null;
  type: string;
  'default-value': string | null;
  matcher: string | null;
  'user-settable': boolean;
  advanced: boolean;
  required: boolean;
}

export interface ConfigView {
  inputs: Record<string, ConfigInputView>;
  outputs: Record<string, { type: string; label: string | null }>;
}

/**
 * The configurable inputs and outputs of a wrapper with their current values (§2.1 "public config view"). The
 * default value of a sensitive input reads as the mask, for everyone: it can be replaced, not read.
 */
export function configView(command: Command, wrapper: CommandWrapper, config: CommandConfiguration): ConfigView {
  const view = rawConfigView(command, wrapper, config);
  const sensitive = sensitiveInputNames(command, wrapper);
  for (const [name, i] of Object.entries(view.inputs)) {
    if (sensitive.has(name) && i['default-value'] !== null && i['default-value'] !== '') i['default-value'] = SENSITIVE_MASK;
  }
  return view;
}

/**
 * A posted configuration whose sensitive defaults read as the mask keeps the values stored in the same scope (the
 * mask is what was read, not a new value); with none stored there, the default is left unconfigured.
 */
export function keepMaskedConfig(posted: CommandConfiguration, stored: CommandConfiguration | undefined,
  sensitive: ReadonlySet<string>): CommandConfiguration {
  const inputs: Record<string, InputConfig> = {};
  for (const [name, c] of Object.entries(posted.inputs)) {
    if (!sensitive.has(name) || c['default-value'] !== SENSITIVE_MASK) { inputs[name] = c; continue; }
    const { 'default-value': _masked, ...rest } = c;
    const kept = stored?.inputs[name]?.['default-value'];
    inputs[name] = kept === undefined ? rest : { ...rest, 'default-value': kept };
  }
  return { ...posted, inputs };
}

function rawConfigView(command: Command, wrapper: CommandWrapper, config: CommandConfiguration): ConfigView {
  const inputs: Record<string, ConfigInputView> = {};
  const fed = new Set<string>();
  for (const i of [...wrapper['external-inputs'], ...wrapper['derived-inputs']]) {
    if (i['provides-value-for-command-input']) fed.add(i['provides-value-for-command-input']);
    const c = config.inputs[i.name] ?? {};
    inputs[i.name] = {
      description: i.description ?? null, type: i.type,
      'default-value': c['default-value'] ?? i['default-value'] ?? null, matcher: c.matcher ?? i.matcher ?? null,
      'user-settable': c['user-settable'] ?? i['user-settable'] ?? true, advanced: c.advanced ?? false, required: i.required !== false,
    };
  }
  for (const i of command.inputs) {
    if (fed.has(i.name)) continue;
    const c = config.inputs[i.name] ?? {};
    inputs[i.name] = {
      description: i.description ?? null, type: i.type,
      'default-value': c['default-value'] ?? i['default-value'] ?? null, matcher: c.matcher ?? i.matcher ?? null,
      'user-settable': c['user-settable'] ?? true, advanced: c.advanced ?? false, required: i.required === true,
    };
  }
  const outputs: ConfigView['outputs'] = {};
  for (const h of wrapper['output-handlers']) outputs[h.name] = { type: h.type, label: config.outputs[h.name]?.label ?? h.label ?? null };
  return { inputs, outputs };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads a posted configuration, checking it against the wrapper; every error is listed with its path. */
export function parseConfiguration(body: unknown, view: ConfigView): CommandConfiguration {
  if (!isRecord(body)) {
    throw new XcsError('xapi.config.invalid', 'the body must be a configuration {"inputs": {...}, "outputs": {...}}', { status: 400, path: '' });
  }
  const errors: Array<{ code: string; message: string; path: string }> = [];
  const out: CommandConfiguration = { inputs: {}, outputs: {} };
  if (body.enabled !== undefined && body.enabled !== null) out.enabled = body.enabled === true || body.enabled === 'true';
  const inputs = body.inputs ?? {};
  if (!isRecord(inputs)) errors.push({ code: 'xapi.config.inputs', message: '"inputs" must be an object', path: '/inputs' });
  else {
    for (const [name, v] of Object.entries(inputs)) {
      const at = `/inputs/${name}`;
      if (!(name in view.inputs)) { errors.push({ code: 'xapi.config.unknown-input', message: `no configurable input "${name}"`, path: at }); continue; }
      if (!isRecord(v)) { errors.push({ code: 'xapi.config.input', message: 'an input configuration must be an object', path: at }); continue; }
      const c: InputConfig = {};
      for (const key of ['default-value', 'matcher'] as const) {
        const x = v[key];
        if (x === undefined) continue;
        if (x === null || typeof x === 'string') c[key] = x;
        else if (typeof x === 'number' || typeof x === 'boolean') c[key] = String(x);
        else errors.push({ code: 'xapi.config.type', message: `"${key}" must be a string`, path: `${at}/${key}` });
      }
      for (const key of ['user-settable', 'advanced'] as const) {
        const x = v[key];
        if (x === undefined) continue;
        if (x === null || typeof x === 'boolean') c[key] = x;
        else if (x === 'true' || x === 'false') c[key] = x === 'true';
        else errors.push({ code: 'xapi.config.type', message: `"${key}" must be true or false`, path: `${at}/${key}` });
      }
      out.inputs[name] = c;
    }
  }
  const outputs = body.outputs ?? {};
  if (!isRecord(outputs)) errors.push({ code: 'xapi.config.outputs', message: '"outputs" must be an object', path: '/outputs' });
  else {
    for (const [name, v] of Object.entries(outputs)) {
      const at = `/outputs/${name}`;
      if (!(name in view.outputs)) { errors.push({ code: 'xapi.config.unknown-output', message: `no output handler "${name}"`, path: at }); continue; }
      const label = isRecord(v) ? v.label : undefined;
      if (label !== undefined && label !== null && typeof label !== 'string') {
        errors.push({ code: 'xapi.config.type', message: '"label" must be a string', path: `${at}/label` });
      } else out.outputs[name] = { label: label ?? null };
    }
  }
  if (errors.length > 0) {
    throw new XcsError('xapi.config.invalid', `Bad request:\n${errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`,
      { status: 400, path: errors[0].path, details: errors });
  }
  return out;
}

export interface ConfigRouteDeps {
  catalog: CommandCatalog;
  configs: ConfigStore;
  access: AccessControl;
}

type P = Record<string, string>;

async function wrapperOf(catalog: CommandCatalog, params: P): Promise<WrapperRef> {
  if (params.wid !== undefined) {
    if (!/^\d+$/.test(params.wid)) throw new XcsError('xapi.wrapper.bad-id', `"${params.wid}" is not a wrapper id`, { status: 400, path: params.wid });
    return requireWrapper(catalog, Number(params.wid));
  }
  if (!/^\d+$/.test(params.cid)) throw new XcsError('xapi.command.bad-id', `"${params.cid}" is not a command id`, { status: 400, path: params.cid });
  return requireWrapperByName(catalog, Number(params.cid), params.wname);
}

export function registerConfigurationRoutes(app: FastifyInstance, { catalog, configs, access }: ConfigRouteDeps): void {
  const tags = ['configuration'];
  const route = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, opts: RouteShorthandOptions, handler: RouteHandlerMethod): void => {
    app.route({ method, url, ...opts, handler });
  };
  /** Enablement by wrapper id is the command registry's (`commands-routes.ts`); here only the by-name forms. */
  const byName = (form: string): boolean => form.includes(':wname');
  const siteForms = ['/xapi/commands/:cid/wrappers/:wname', '/xapi/wrappers/:wid'];
  const projectForms = ['/xapi/projects/:project/commands/:cid/wrappers/:wname', '/xapi/projects/:project/wrappers/:wid'];
  const params = (keys: string[]) => ({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, { type: 'string' }])), required: keys });
  const keysOf = (form: string) => [...form.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const enableQuery = { type: 'object', properties: { enable: { type: 'string', enum: ['true', 'false'] }, reason: { type: 'string' } } };

  const projectOf = (request: FastifyRequest): string => (request.params as P).project;
  /** CM, or the project access XNAT asks for (GET: edit; changes: owner). */
  const projectAccess = async (request: FastifyRequest, action: 'edit' | 'delete'): Promise<void> => {
    if (await access.isContainerManager(request.user)) return access.requireExistingProject(projectOf(request));
    await access.requireProject(request, projectOf(request), action);
  };

  for (const form of siteForms) {
    const schema = { tags, params: params(keysOf(form)) };
    route('GET', `${form}/config`, { schema: { ...schema, summary: 'Site configuration of a wrapper' } }, async (request) => {
      await access.requireContainerManager(request);
      const { command, wrapper } = await wrapperOf(catalog, request.params as P);
      return configView(command, wrapper, await configs.effective(wrapper.id, null));
    });
    route('POST', `${form}/config`, { schema: { ...schema, querystring: enableQuery, body: { type: 'object' } } }, async (request, reply) => {
      await access.requireContainerManager(request);
      const { command, wrapper } = await wrapperOf(catalog, request.params as P);
      const posted = parseConfiguration(request.body, configView(command, wrapper, { inputs: {}, outputs: {} }));
      const config = keepMaskedConfig(posted, await configs.get(wrapper.id, null), sensitiveInputNames(command, wrapper));
      await configs.set(wrapper.id, null, config);
      if ((request.query as P).enable !== 'false') await catalog.setSiteEnabled(wrapper.id, true);
      return reply.code(201).send(configView(command, wrapper, await configs.effective(wrapper.id, null)));
    });
    route('DELETE', `${form}/config`, { schema }, async (request, reply) => {
      await access.requireContainerManager(request);
      const { wrapper } = await wrapperOf(catalog, request.params as P);
      await configs.delete(wrapper.id, null);
      return reply.code(204).send();
    });
    if (!byName(form)) continue;
    route('GET', `${form}/enabled`, { schema: { ...schema, summary: 'Whether the wrapper is enabled for the site' } }, async (request) => {
      await access.requireContainerManager(request);
      const { wrapper } = await wrapperOf(catalog, request.params as P);
      return catalog.siteEnabled(wrapper.id);
    });
    for (const [verb, on] of [['enabled', true], ['disabled', false]] as const) {
      route('PUT', `${form}/${verb}`, { schema: { ...schema, querystring: { type: 'object', properties: { reason: { type: 'string' } } } } },
        async (request) => {
          await access.requireContainerManager(request);
          const { wrapper } = await wrapperOf(catalog, request.params as P);
          await catalog.setSiteEnabled(wrapper.id, on);
          return '';
        });
    }
  }
  route('GET', '/xapi/wrappers/:wid/projects', { schema: { tags, params: params(['wid']), summary: 'Projects the wrapper is enabled in' } },
    async (request) => {
      await access.requireContainerManager(request);
      const { wrapper } = await wrapperOf(catalog, request.params as P);
      return catalog.enabledProjects(wrapper.id);
    });

  for (const form of projectForms) {
    const schema = { tags, params: params(keysOf(form)) };
    route('GET', `${form}/config`, { schema: { ...schema, summary: 'Project configuration (site-merged)' } }, async (request) => {
      await projectAccess(request, 'edit');
      const { command, wrapper } = await wrapperOf(catalog, request.params as P);
      return configView(command, wrapper, await configs.effective(wrapper.id, projectOf(request)));
    });
    route('POST', `${form}/config`, { schema: { ...schema, querystring: enableQuery, body: { type: 'object' } } }, async (request, reply) => {
      await projectAccess(request, 'delete');
      const { command, wrapper } = await wrapperOf(catalog, request.params as P);
      const posted = parseConfiguration(request.body, configView(command, wrapper, { inputs: {}, outputs: {} }));
      const config = keepMaskedConfig(posted, await configs.get(wrapper.id, projectOf(request)), sensitiveInputNames(command, wrapper));
      await configs.set(wrapper.id, projectOf(request), config);
      if ((request.query as P).enable !== 'false') await catalog.setProjectEnabled(wrapper.id, projectOf(request), true);
      return reply.code(201).send(configView(command, wrapper, await configs.effective(wrapper.id, projectOf(request))));
    });
    route('DELETE', `${form}/config`, { schema }, async (request, reply) => {
      await projectAccess(request, 'delete');
      const { wrapper } = await wrapperOf(catalog, request.params as P);
      await configs.delete(wrapper.id, projectOf(request));
      return reply.code(204).send();
    });
    if (!byName(form)) continue;
    route('GET', `${form}/enabled`, { schema }, async (request) => {
      await projectAccess(request, 'edit');
      const { wrapper } = await wrapperOf(catalog, request.params as P);
      const project = projectOf(request);
      const site = await catalog.siteEnabled(wrapper.id);
      return { 'enabled-for-site': site, 'enabled-for-project': site && (await catalog.projectEnabled(wrapper.id, project)), project };
    });
    for (const [verb, on] of [['enabled', true], ['disabled', false]] as const) {
      route('PUT', `${form}/${verb}`, { schema: { ...schema, querystring: { type: 'object', properties: { reason: { type: 'string' } } } } },
        async (request) => {
          await projectAccess(request, 'delete');
          const { wrapper } = await wrapperOf(catalog, request.params as P);
          await catalog.setProjectEnabled(wrapper.id, projectOf(request), on);
          return '';
        });
    }
  }
}
