/** The shapes of the /xapi and /data answers the console reads (reference §3.3, §5.1, §5.3; XCS additions marked). */

export interface HistoryItem {
  id: number;
  status: string;
  'entity-type': string | null;
  'entity-id': string | null;
  'time-recorded': string;
  message: string | null;
  exitCode: string | null;
}

export interface ContainerInput {
  id: number;
  type: string;
  name: string;
  value: string | null;
  sensitive: boolean;
}

export interface ContainerOutput {
  id: number;
  name: string;
  type: string;
  label: string | null;
  required: boolean;
  created: string | null;
  'handled-by': string | null;
}

export interface Container {
  id: number;
  'command-id': number | null;
  'wrapper-id': number | null;
  status: string;
  'status-time': string | null;
  'user-id': string | null;
  project: string | null;
  'docker-image': string | null;
  'container-name'?: string | null;
  'container-id'?: string | null;
  'command-line'?: string | null;
  'exit-code'?: string | null;
  /** XCS: the failure's stable code and what to do about it. */
  'failure-code'?: string | null;
  'failure-hint'?: string | null;
  inputs: ContainerInput[];
  outputs: ContainerOutput[];
  history: HistoryItem[];
}

export interface CommandWrapper {
  id: number;
  name: string;
  label?: string | null;
  description?: string | null;
  contexts: string[];
}

export interface CommandInputDef {
  name: string;
  type?: string;
  'true-value'?: string | null;
  'false-value'?: string | null;
}

export interface Command {
  id: number;
  name: string;
  label?: string | null;
  description?: string | null;
  version?: string | null;
  image: string;
  inputs?: CommandInputDef[];
  xnat: CommandWrapper[];
}

export interface WrapperSummary {
  'command-id': number;
  'command-name': string;
  'command-label': string | null;
  'wrapper-id': number;
  'wrapper-name': string;
  'wrapper-label': string | null;
  'wrapper-description': string | null;
  'image-name': string;
  enabled: boolean;
  'root-element-name': string;
}

/** XCS: `GET /xapi/availability?object=` */
export interface Availability {
  object: { uri: string; 'xsi-type': string; project: string | null; label: string | null };
  available: WrapperSummary[];
  unavailable: Array<WrapperSummary & { reasons: Array<{ check: string; message: string }> }>;
}

export interface LaunchUiInputConfig {
  name: string;
  label: string;
  description: string | null;
  advanced: boolean;
  required: boolean;
  'user-settable': boolean;
  multiple: boolean;
  'input-type': 'text' | 'password' | 'boolean' | 'select-one' | 'select-many' | 'static' | 'derived' | 'file';
  'select-values': string[];
  sensitive?: boolean;
  children: LaunchUiInputConfig[];
  /** XCS: where the run goes (Slurm partition/account/QoS), not an input of the command; sent like one. */
  placement?: 'slurm';
}

export interface LaunchUiValue {
  value: string;
  label: string;
  children: LaunchUiValuesNode[];
}

export interface LaunchUiValuesNode {
  name: string;
  values: LaunchUiValue[];
}

export interface LaunchUi {
  meta: { 'command-id': number; 'wrapper-id': number; 'wrapper-name': string; 'wrapper-label': string | null;
    'wrapper-description': string | null; 'image-name': string; enabled?: boolean };
  'input-config': LaunchUiInputConfig[];
  'input-values': LaunchUiValuesNode[];
}

export interface LaunchReport {
  status: 'success' | 'failure';
  params: Record<string, string>;
  id: number | null;
  message?: string;
  code?: string;
  path?: string;
  hint?: string;
}

export interface BulkLaunchReport {
  'bulk-launch-id': string;
  'pipeline-name': string;
  'dry-run'?: boolean;
  successes: LaunchReport[];
  failures: LaunchReport[];
}

export interface Diagnostic {
  path: string;
  code: string;
  message: string;
  hint?: string;
}

/** XCS: `POST /xapi/commands/validate` */
export interface ValidationAnswer {
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** XNAT's `/data` listings: `{ResultSet: {Result: [...]}}`. */
export interface ResultSet<T> {
  ResultSet: { Result: T[]; totalRecords?: string };
}

export interface ProjectRow {
  ID: string;
  name: string;
}

export interface ExperimentRow {
  ID: string;
  label: string;
  xsiType: string;
  subject_label?: string;
  date?: string;
}

export interface UserInfo {
  username: string;
  firstName?: string;
  lastName?: string;
  admin: boolean;
}
