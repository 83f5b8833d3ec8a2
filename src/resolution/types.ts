/**
 * What resolution produces: the resolved command (§2.17, kebab-case, XNAT's field names), the
 * explanation of every choice, and the options resolution accepts.
 */
import type { Command } from '../command/model.ts';

export interface ResolvedInputValue {
  name: string;
  value: string;
  type: string;
  sensitive: boolean;
}

export interface ResolvedMount {
  name: string;
  writable: boolean;
  'container-path': string;
  'xnat-host-path': string;
  'container-host-path': string;
  'via-setup-command': string | null;
  'mount-pvc-name': string | null;
  /**
   * XCS addition: the archive directory whose files must be copied into `xnat-host-path` before
   * launch (writable mounts of archive objects). Resolution itself touches no files.
   */
  'copy-from': string | null;
}

export interface ResolvedOutput {
  name: string;
  'from-command-output': string;
  'from-output-handler': string;
  type: string;
  'xsi-type': string | null;
  required: boolean;
  mount: string;
  path: string | null;
  glob: string | null;
  label: string | null;
  format: string | null;
  description: string | null;
  content: string | null;
  tags: string[];
  'handled-by': string;
  'via-wrapup-command': string | null;
}

export interface ResolvedCommand {
  'wrapper-id': number;
  'wrapper-name': string;
  'wrapper-description': string | null;
  'command-id': number;
  'command-name': string;
  'command-description': string | null;
  image: string;
  'container-name': string | null;
  type: string;
  project: string | null;
  'raw-input-values': Record<string, string>;
  'command-line': string;
  overrideEntrypoint: boolean;
  'environment-variables': Record<string, string>;
  ports: Record<string, string>;
  mounts: ResolvedMount[];
  outputs: ResolvedOutput[];
  'working-directory': string | null;
  'setup-commands': ResolvedCommand[];
  'wrapup-commands': ResolvedCommand[];
  'reserve-memory': number | null;
  'limit-memory': number | null;
  runtime: string | null;
  'ipc-mode': string | null;
  'auto-remove': boolean;
  'shm-size': number | null;
  network: string | null;
  'container-labels': Record<string, string>;
  'limit-cpu': number | null;
  'swarm-constraints': string[] | null;
  /** XCS addition: the Slurm partition, account and QoS the launching user chose among the site's allowed ones. */
  'slurm-placement'?: SlurmChoice | null;
  'parent-source-object-name': string | null;
  gpus: string | null;
  'generic-resources': Record<string, string>;
  ulimits: Record<string, string>;
  secrets: Command['secrets'];
  'external-wrapper-input-values': ResolvedInputValue[];
  'derived-input-values': ResolvedInputValue[];
  'command-input-values': ResolvedInputValue[];
}

/** One candidate object (or value) considered for an input. */
export interface CandidateExplanation {
  /** Label of the object, or the value itself. */
  label: string;
  uri?: string;
  accepted: boolean;
  /** Why it was rejected: the failing matcher clauses with the values they saw. */
  reasons: string[];
}

export interface InputExplanation {
  name: string;
  kind: 'external' | 'derived' | 'command';
  type: string;
  /** For derived inputs: the parent value the candidates were taken from. */
  parent?: string;
  /** Where the starting value came from. */
  source?: 'launch' | 'default' | 'provider' | 'parent';
  /** The matcher as evaluated (templates substituted). */
  matcher?: string;
  candidates: CandidateExplanation[];
  /** The values kept (after matching). */
  values: (string | null)[];
  /** Problem or note, e.g. "no candidate matched". */
  note?: string;
}

export interface Explanation {
  inputs: InputExplanation[];
}

export interface SwarmConstraint {
  'user-settable': boolean;
  attribute: string;
  comparator: string;
  values: string[];
}

/** Slurm placement words a run may carry: each a partition, account or QoS name. */
export interface SlurmChoice {
  partition?: string;
  account?: string;
  qos?: string;
}

/** Which Slurm placement words the site lets users choose at launch, and the values allowed for each. */
export type SlurmUserSettable = { [K in keyof SlurmChoice]?: string[] };

export interface ResolveOptions {
  /** Returns the host path of a fresh build directory (the caller creates it when launching). */
  buildDir?: (purpose: string) => string;
  /** Host-path translation: the XNAT prefix is replaced by the Docker prefix (prefix only). */
  pathTranslation?: { xnatPrefix: string; dockerPrefix: string } | null;
  backend?: 'docker' | 'swarm' | 'kubernetes' | 'slurm';
  swarmConstraints?: SwarmConstraint[];
  /** On the slurm backend: what the launch inputs `slurm-partition`, `slurm-account`, `slurm-qos` may choose. */
  slurmUserSettable?: SlurmUserSettable;
  /** Looks up setup/wrapup commands by image reference (`repo/img:tag[:name]`). */
  findCommandByImage?: (ref: string) => Command | null | Promise<Command | null>;
}
