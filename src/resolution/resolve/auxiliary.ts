/** The resolved-command skeleton, setup and wrapup commands (found by image), and swarm constraints. */
import type { Command } from '../../command/model.ts';
import { parseImageCommandRef } from '../image-ref.ts';
import { resolveTemplate } from '../template.ts';
import type { ResolvedCommand, ResolvedMount } from '../types.ts';
import type { Resolver } from './resolver.ts';

export async function findAuxiliary(resolver: Resolver, ref: string, type: 'docker-setup' | 'docker-wrapup'): Promise<Command> {
  const { image, commandName } = parseImageCommandRef(ref);
  const found = resolver.options.findCommandByImage ? await resolver.options.findCommandByImage(ref) : null;
  if (!found) {
    const message = commandName
      ? `Could not find a command with name ${commandName} for image ${image}. (Input: ${ref})`
      : `Could not find any commands for image ${image}. (Input: ${ref})`;
    resolver.fail('resolution.setup.not-found', message, ref);
  }
  if (found.type !== type) {
    resolver.fail('resolution.setup.type', `Command ${found.name} from image ${image} has type ${found.type}, but I expected it to have type ${type}.`, ref);
  }
  return found;
}

export async function resolveAuxiliary(resolver: Resolver, ref: string, type: 'docker-setup' | 'docker-wrapup', inputHostPath: string, parentSource: string, env: Record<string, string>): Promise<ResolvedCommand> {
  const cmd = await findAuxiliary(resolver, ref, type);
  const outDir = resolver.buildDir(`${type === 'docker-setup' ? 'setup' : 'wrapup'} ${parentSource}`);
  const mounts: ResolvedMount[] = [
    { name: 'input', writable: false, 'container-path': '/input', 'xnat-host-path': inputHostPath, 'container-host-path': resolver.translate(inputHostPath), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null },
    { name: 'output', writable: true, 'container-path': '/output', 'xnat-host-path': outDir, 'container-host-path': resolver.translate(outDir), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null },
  ];
  const base = resolvedBase(resolver, cmd, { id: 0, name: '', description: null });
  return {
    ...base,
    'command-line': resolveTemplate(cmd['command-line'], resolver.commandLineMap(), resolver.roots) ?? '',
    'working-directory': cmd['working-directory'],
    'environment-variables': { ...env },
    mounts,
    'container-labels': resolver.tplMap(cmd['container-labels']),
    'container-name': resolver.tpl(cmd['container-name']),
    'parent-source-object-name': parentSource,
  };
}

export function resolvedBase(resolver: Resolver, cmd: Command, w: { id: number; name: string; description: string | null }): ResolvedCommand {
  return {
    'wrapper-id': w.id,
    'wrapper-name': w.name,
    'wrapper-description': w.description,
    'command-id': cmd.id,
    'command-name': cmd.name,
    'command-description': cmd.description,
    image: cmd.image,
    'container-name': cmd['container-name'],
    type: cmd.type,
    project: resolver.project,
    'raw-input-values': { ...resolver.inputs },
    'command-line': cmd['command-line'] ?? '',
    overrideEntrypoint: cmd['override-entrypoint'],
    'environment-variables': {},
    ports: {},
    mounts: [],
    outputs: [],
    'working-directory': cmd['working-directory'],
    'setup-commands': [],
    'wrapup-commands': [],
    'reserve-memory': cmd['reserve-memory'],
    'limit-memory': cmd['limit-memory'],
    runtime: cmd.runtime,
    'ipc-mode': cmd['ipc-mode'],
    'auto-remove': cmd['auto-remove'],
    'shm-size': cmd['shm-size'],
    network: cmd.network,
    'container-labels': { ...cmd['container-labels'] },
    'limit-cpu': cmd['limit-cpu'],
    'swarm-constraints': null,
    'parent-source-object-name': null,
    gpus: cmd.gpus,
    'generic-resources': { ...cmd['generic-resources'] },
    ulimits: { ...cmd.ulimits },
    secrets: cmd.secrets,
    'external-wrapper-input-values': [],
    'derived-input-values': [],
    'command-input-values': [],
  };
}

export function swarmConstraints(resolver: Resolver): string[] | null {
  const backend = resolver.options.backend ?? 'docker';
  const configured = resolver.options.swarmConstraints ?? [];
  if (backend === 'docker' || backend === 'slurm' || configured.length === 0) return null;
  const chosen = new Map<string, string>();
  const raw = resolver.inputs['swarm-constraints'];
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) {
        for (const p of parsed) {
          if (p && typeof p === 'object' && typeof p.attribute === 'string' && typeof p.value === 'string') chosen.set(p.attribute, p.value);
        }
      }
    } catch {
      resolver.fail('resolution.swarm-constraints', 'The "swarm-constraints" value is not a JSON list of {"attribute", "value"} objects.', 'swarm-constraints');
    }
  }
  const out: string[] = [];
  for (const c of configured) {
    if (!c['user-settable']) {
      out.push(c.attribute + c.comparator + c.values[0]);
      continue;
    }
    const v = chosen.get(c.attribute);
    if (v === undefined) out.push(c.attribute + c.comparator + c.values[0]);
    else if (c.values.includes(v)) out.push(c.attribute + c.comparator + v);
  }
  return out.length > 0 ? out : null;
}
