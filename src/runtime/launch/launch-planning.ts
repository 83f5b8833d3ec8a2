/**
 * The launch-planning service: the one pipeline every caller that launches, or shows what a launch would do, goes
 * through — launch (REST, relaunch, the in-process launcher), the launch UI, availability and bulk dry-run:
 *
 *   wrapper lookup (once per launch) → enablement → configuration → resolution against the archive object → plan
 *
 * The plan is the resolved command for a launch, or, for the callers that only look, the resolver's explanation of
 * every input with the resolution problem (the why-not) when there is one. Callers keep their own access checks
 * (who may see the command or read the objects) and shape the answers; none looks up a wrapper, asks for
 * enablement or applies a wrapper configuration itself.
 */
import { applyConfiguration, type CommandConfiguration } from '../../command/configuration.ts';
import { sensitiveDefaults } from '../../command/sensitive.ts';
import { XcsError } from '../../core/errors.ts';
import {
  preResolve, resolveCommand, ResolutionError, type Explanation, type ResolvedCommand, type XnatObjectSource,
} from '../../resolution/index.ts';
import { findWrapperById, requireWrapperByName, type CommandCatalog, type WrapperRef } from '../catalog/catalog.ts';

/** How a caller names the wrapper it launches: by id, or by command id and wrapper name. */
export type WrapperKey = { wrapperId: number } | { commandId: number; wrapperName: string };

/** The wrapper configurations (site, overlaid by the project's): `stores/wrapper-config-store.ts` keeps them. */
export interface WrapperConfigurations {
  effective(wrapperId: number, project: string | null): Promise<CommandConfiguration>;
}

export interface Enablement {
  /** The site flag. */
  site: boolean;
  /** The project flag; true when the launch belongs to no project. */
  project: boolean;
  /** Both: a launch would be accepted. */
  enabled: boolean;
}

/** A wrapper as resolution must see it in one scope: its command with the wrapper configuration applied (§2.1). */
export interface ConfiguredWrapper extends WrapperRef {
  /** The configuration that was applied (empty when the service has no configurations). */
  config: CommandConfiguration;
  /** The configured defaults of sensitive inputs: never shown, so callers redact their answers with them. */
  sensitiveDefaults: string[];
}

export interface PlanRequest {
  /** Launch values by input name (the root object's URI or id under the root element's name). */
  inputs: Record<string, string>;
  user: string;
  /** The project the run would belong to. */
  project: string | null;
  /** The object source to read the archive with (a fresh one by default). */
  source?: XnatObjectSource;
}

/** What a launch would do without launching: every input explained, and the reason it would not resolve, if any. */
export interface PreviewPlan {
  explanation: Explanation;
  /** The resolution problem (why not), or null when the pre-resolution went through. */
  problem: ResolutionError | null;
}

export interface LaunchPlannerDeps {
  catalog: CommandCatalog;
  /** Absent: wrappers run unconfigured. */
  configs?: WrapperConfigurations | null;
  /** An object source reading the archive (as the launching user, through `user` in each request). */
  source: () => XnatObjectSource;
}

const UNCONFIGURED: CommandConfiguration = { inputs: {}, outputs: {} };

export class LaunchPlanner {
  readonly #catalog: CommandCatalog;
  readonly #configs: WrapperConfigurations | null;
  readonly #source: () => XnatObjectSource;

  constructor(deps: LaunchPlannerDeps) {
    this.#catalog = deps.catalog;
    this.#configs = deps.configs ?? null;
    this.#source = deps.source;
  }

  /** A fresh object source over the archive. */
  source(): XnatObjectSource {
    return this.#source();
  }

  /**
   * The wrapper and its command (404 when either is missing). `prefix` is the code prefix of the route's not-found
   * answer: `xapi.` for the registry's routes, none for launch (XNAT-compatible clients read both).
   */
  async wrapper(key: WrapperKey, prefix: '' | 'xapi.' = 'xapi.'): Promise<WrapperRef> {
    try {
      if ('wrapperId' in key) {
        const found = await findWrapperById(this.#catalog, key.wrapperId);
        if (!found) throw new XcsError('xapi.wrapper.not-found', `No wrapper with id ${key.wrapperId}`, { path: String(key.wrapperId) });
        return found;
      }
      return await requireWrapperByName(this.#catalog, key.commandId, key.wrapperName);
    } catch (e) {
      if (prefix === '' && e instanceof XcsError && e.code.startsWith('xapi.')) {
        throw new XcsError(e.code.slice('xapi.'.length), e.message, e.path === undefined ? {} : { path: e.path });
      }
      throw e;
    }
  }

  /** Whether the wrapper is enabled for the site and, when the launch belongs to one, the project. */
  async enablement(wrapperId: number, project: string | null): Promise<Enablement> {
    const site = await this.#catalog.siteEnabled(wrapperId);
    const inProject = project === null ? true : await this.#catalog.projectEnabled(wrapperId, project);
    return { site, project: inProject, enabled: site && inProject };
  }

  /**
   * Refuses a launch of a wrapper not enabled for the site, or — when the run belongs to a project — not enabled
   * for that project either. XNAT launches disabled wrappers; we do not (documented deviation).
   */
  async requireEnabled(wrapperId: number, project: string | null): Promise<void> {
    const e = await this.enablement(wrapperId, project);
    if (!e.site) {
      throw new XcsError('wrapper.disabled', `Wrapper ${wrapperId} is not enabled for this site`, {
        path: String(wrapperId), hint: `Enable it: PUT /xapi/wrappers/${wrapperId}/enabled`,
      });
    }
    if (!e.project) {
      throw new XcsError('wrapper.disabled', `Wrapper ${wrapperId} is not enabled for project ${project}`, {
        path: String(wrapperId), hint: `Enable it: PUT /xapi/projects/${project}/wrappers/${wrapperId}/enabled`,
      });
    }
  }

  /** The wrapper's command with the configuration of `scope` (the site's, overlaid by the project's) applied. */
  async configure(ref: WrapperRef, scope: string | null): Promise<ConfiguredWrapper> {
    const config = this.#configs ? await this.#configs.effective(ref.wrapper.id, scope) : UNCONFIGURED;
    const command = this.#configs ? applyConfiguration(ref.command, ref.wrapper.id, config) : ref.command;
    const wrapper = command.xnat.find((w) => w.id === ref.wrapper.id) ?? ref.wrapper;
    return { command, wrapper, config, sensitiveDefaults: sensitiveDefaults(command, command.xnat[0] ?? ref.wrapper) };
  }

  /**
   * The plan of a launch that is only looked at (launch UI, availability, bulk dry-run): the explanation of every
   * input, and the resolution problem when there is one. Failures that are not resolution's are thrown.
   */
  async preview(configured: ConfiguredWrapper, request: PlanRequest): Promise<PreviewPlan> {
    try {
      const { explanation } = await preResolve({ command: configured.command, wrapper: configured.wrapper.id, inputs: request.inputs,
        source: request.source ?? this.#source(), user: request.user, project: request.project });
      return { explanation, problem: null };
    } catch (e) {
      if (!(e instanceof ResolutionError)) throw e;
      return { explanation: e.explanation, problem: e };
    }
  }

  /** The plan of a real launch: the resolved command, or the resolution problem thrown as the caller's error. */
  resolve(configured: ConfiguredWrapper, request: PlanRequest & { options: NonNullable<Parameters<typeof resolveCommand>[0]['options']> }):
    Promise<ResolvedCommand> {
    return resolveCommand({ command: configured.command, wrapper: configured.wrapper.name, inputs: request.inputs,
      source: request.source ?? this.#source(), user: request.user, project: request.project, options: request.options });
  }
}
