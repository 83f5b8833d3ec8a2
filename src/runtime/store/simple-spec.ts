/**
 * A run spec for an ad-hoc container without a registered command: what benchmarks and tests launch,
 * and a readable example of the minimum the engine needs.
 */
import type { ResolvedMount, ResolvedOutput } from '../../resolution/index.ts';
import type { RunSpec } from './run-spec.ts';

export interface SimpleSpec {
  image: string;
  commandLine: string;
  /** true (default): run through `/bin/sh -c`; false: arguments for the image's entrypoint. */
  overrideEntrypoint?: boolean;
  mounts?: ResolvedMount[];
  outputs?: ResolvedOutput[];
  environment?: Record<string, string>;
  limitMemoryMiB?: number;
  network?: string;
  /** Wrapper input name → archive URI, for output handlers. */
  inputs?: Record<string, string>;
  commandId?: number;
  wrapperId?: number;
}

export function simpleRunSpec(s: SimpleSpec): RunSpec {
  return {
    'wrapper-id': s.wrapperId ?? 0, 'wrapper-name': 'ad-hoc', 'wrapper-description': null,
    'command-id': s.commandId ?? 0, 'command-name': 'ad-hoc', 'command-description': null,
    image: s.image, 'container-name': null, type: 'docker', project: null, 'raw-input-values': { ...s.inputs },
    'command-line': s.commandLine, overrideEntrypoint: s.overrideEntrypoint ?? true,
    'environment-variables': s.environment ?? {}, ports: {}, mounts: s.mounts ?? [], outputs: s.outputs ?? [],
    'working-directory': null, 'setup-commands': [], 'wrapup-commands': [], 'reserve-memory': null,
    'limit-memory': s.limitMemoryMiB ?? null, runtime: null, 'ipc-mode': null, 'auto-remove': false, 'shm-size': null,
    network: s.network ?? null, 'container-labels': {}, 'limit-cpu': null, 'swarm-constraints': null,
    'parent-source-object-name': null, gpus: null, 'generic-resources': {}, ulimits: {}, secrets: [],
    'external-wrapper-input-values': Object.entries(s.inputs ?? {}).map(([name, value]) => ({ name, value, type: 'string', sensitive: false })),
    'derived-input-values': [], 'command-input-values': [],
  };
}

/** A writable mount at `containerPath` whose files live in `hostDir`. */
export function writableMount(name: string, containerPath: string, hostDir: string): ResolvedMount {
  return { name, writable: true, 'container-path': containerPath, 'xnat-host-path': hostDir, 'container-host-path': hostDir,
    'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null };
}

/** A Resource output of mount `mount` going under the object of wrapper input `handledBy`. */
export function resourceOutput(name: string, mount: string, handledBy: string, label: string, required = true): ResolvedOutput {
  return { name, 'from-command-output': name, 'from-output-handler': `${name}-handler`, type: 'Resource', 'xsi-type': null,
    required, mount, path: null, glob: null, label, format: null, description: null, content: null, tags: [],
    'handled-by': handledBy, 'via-wrapup-command': null };
}
