/**
 * Launch: the launch-planning pipeline (`launch-planning.ts`: the wrapper, looked up once — by the caller when it
 * already has it —, its enablement, its configuration, resolution against the archive for the launching user) with
 * the launch's own checks (root value, project permission, a run token's project), then the run recorded and queued
 * (`RunEngine.submit`). Resolution problems are the caller's: they are returned at once as errors and no run is
 * recorded.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Archive } from '../../archive/types.ts';
import type { UserDirectory } from '../../archive/users.ts';
import type { Command, CommandWrapper } from '../../command/index.ts';
import { SENSITIVE_MASK, sensitiveInputNames } from '../../command/sensitive.ts';
import { XcsError } from '../../core/errors.ts';
import type { WrapperRef } from '../catalog/catalog.ts';
import type { CommandStore } from '../catalog/command-store.ts';
import type { RunEngine } from '../engine.ts';
import type { LaunchPlanner, WrapperKey } from './launch-planning.ts';
import { compileRunPolicy } from '../retry/retry-policy.ts';
import type { RunRecord } from '../store/run-store.ts';

export interface LaunchRequest {
  wrapper: WrapperKey;
  /** The wrapper as the caller already looked it up (`LaunchPlanner.wrapper`), so a launch looks it up once. */
  found?: WrapperRef;
  /** The input that names the archive object launched on (XNAT's `rootElement`). */
  rootElement: string | null;
  params: Record<string, string>;
  user: string;
  /** From a project-scoped path; otherwise the project of the root object. */
  project: string | null;
  /** The run this launch repeats (relaunch). */
  relaunchOf?: number;
  /** The caller is a run's token confined to this project: a launch anywhere else is refused. */
  confinedTo?: string;
}

export interface LaunchContext {
  engine: RunEngine;
  /** The command store: setup and wrapup commands by image reference (and, for the run routes, commands by id). */
  commands: CommandStore;
  archive: Archive;
  users: UserDirectory | null;
  /** The launch-planning pipeline: wrapper, enablement, configuration (§2.1), resolution. */
  planner: LaunchPlanner;
}

// What the launch UI shows in place of a sensitive input's value; sent back unchanged, it means "keep the default".
export { SENSITIVE_MASK };

/**
 * Drops launch values that are the mask of a sensitive input: the launch UI never receives the real value,
 * so posting its form back must not turn the configured or default value into the literal mask.
 */
function unmask(command: Command, wrapper: CommandWrapper, params: Record<string, string>): Record<string, string> {
  const sensitive = sensitiveInputNames(command, wrapper);
  return Object.fromEntries(Object.entries(params).filter(([name, value]) => !(value === SENSITIVE_MASK && sensitive.has(name))));
}

async function projectOfRoot(ctx: LaunchContext, req: LaunchRequest): Promise<string | null> {
  if (req.project) return req.project;
  const value = req.rootElement ? req.params[req.rootElement] : undefined;
  if (!value || !value.startsWith('/')) return null;
  try {
    return await ctx.archive.projectOf(await ctx.archive.resolveUri(value));
  } catch {
    return null;
  }
}

/**
 * Launching writes to the project (a run record, its history, usually outputs), so it needs edit access:
 * members and owners, not collaborators (XNAT asks edit only for output handlers, §6.2). A user who cannot
 * even read the project gets the same 404 as for a project that does not exist (`/data`'s rule).
 */
async function checkMayLaunch(ctx: LaunchContext, login: string, project: string | null): Promise<void> {
  if (project === null || ctx.users === null) return;
  const user = await ctx.users.requireUser(login);
  if (await ctx.users.can(user, 'edit', { project })) return;
  if (await ctx.users.can(user, 'read', { project })) {
    throw new XcsError('auth.forbidden', `User ${login} does not have edit access to project ${project}, which launching needs`,
      { path: project, hint: 'a project owner can make you a member' });
  }
  throw new XcsError('xapi.project.not-found', `No project ${project} that you can read`, { path: project });
}

export async function launch(ctx: LaunchContext, req: LaunchRequest): Promise<RunRecord> {
  const found = req.found ?? await ctx.planner.wrapper(req.wrapper, '');
  if (req.rootElement && req.params[req.rootElement] === undefined) {
    throw new XcsError('launch.root-missing', `The launch names root element "${req.rootElement}" but gives no value for it`,
      { path: req.rootElement });
  }
  const project = await projectOfRoot(ctx, req);
  if (req.confinedTo !== undefined && project !== req.confinedTo) {
    throw new XcsError('xapi.project.not-found', `No project ${project ?? '(none)'} that you can read`, { path: project ?? undefined,
      hint: 'a run\'s token launches only within its own project' });
  }
  await checkMayLaunch(ctx, req.user, project);
  await ctx.planner.requireEnabled(found.wrapper.id, project);
  const configured = await ctx.planner.configure(found, project);
  const inputs = unmask(configured.command, configured.wrapper, req.params);
  const launchKey = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const buildRoot = join(ctx.engine.config.dataDir, 'build', launchKey);
  let n = 0;
  const spec = await ctx.planner.resolve(configured, {
    inputs, user: req.user, project,
    options: {
      buildDir: (purpose) => join(buildRoot, `${++n}-${purpose.replace(/[^A-Za-z0-9._-]+/g, '-')}`),
      findCommandByImage: (ref) => ctx.commands.findByImage(ref),
      // The site's path translation (server settings), as of this launch.
      pathTranslation: ctx.engine.config.site.pathTranslation,
      // Swarm constraints apply on the swarm backend only (§2.15): the site's, with the user's choices among the settable ones.
      backend: backendForResolution(ctx.engine.resources.backend.kind),
      swarmConstraints: ctx.engine.config.site.swarmConstraints ?? [],
      // On Slurm: the partition/account/QoS the user may choose among (the launch inputs are checked against them).
      slurmUserSettable: ctx.engine.config.site.slurmUserSettable ?? {},
    },
  });
  return ctx.engine.submit(spec, req.user, project, buildRoot, { policy: compileRunPolicy(configured.command), relaunchOf: req.relaunchOf ?? null });
}

/** The backend kinds resolution knows about (it resolves swarm constraints, or Slurm choices, for the cluster ones). */
function backendForResolution(kind: string): 'docker' | 'swarm' | 'kubernetes' | 'slurm' {
  return kind === 'swarm' || kind === 'kubernetes' || kind === 'slurm' ? kind : 'docker';
}
