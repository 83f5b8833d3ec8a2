/**
 * The launch form's model over XNAT's launch-UI JSON (reference §5.3): `input-config` is the tree of inputs,
 * `input-values` the candidate values, where each value of a parent carries the values of its children for
 * that choice. A field's options are therefore found by walking both trees along the current choices.
 */
import type { LaunchUi, LaunchUiInputConfig, LaunchUiValue, LaunchUiValuesNode } from '../api/types.ts';

export type FieldValue = string | string[];
export type FormValues = Record<string, FieldValue>;

export interface Field {
  config: LaunchUiInputConfig;
  options: LaunchUiValue[];
  depth: number;
}

/**
 * The value a field starts with: the first candidate (XNAT puts the default or the matched object first). A
 * boolean's candidate is already rendered with the command's `true-value`/`false-value`; the form keeps
 * `"true"`/`"false"`, which the server maps back.
 */
function initial(config: LaunchUiInputConfig, options: LaunchUiValue[], trueValues: ReadonlyMap<string, string>): FieldValue {
  if (config['input-type'] === 'select-many') return options.map((o) => o.value).filter((v) => v !== '');
  if (config['input-type'] === 'boolean') {
    const v = options[0]?.value ?? '';
    return v === 'true' || (trueValues.has(config.name) && v === trueValues.get(config.name)) ? 'true' : 'false';
  }
  if (config['input-type'] === 'password') return ''; // the server keeps the configured secret unless one is typed
  return options[0]?.value ?? '';
}

/** Every field in tree order along the current choices, with its options; `values` gets defaults for new fields. */
export function fieldsOf(ui: LaunchUi, values: FormValues, trueValues: ReadonlyMap<string, string> = new Map()): { fields: Field[]; values: FormValues } {
  const out: Field[] = [];
  const filled: FormValues = { ...values };
  const walk = (configs: LaunchUiInputConfig[], nodes: LaunchUiValuesNode[], depth: number): void => {
    for (const config of configs) {
      const options = nodes.find((n) => n.name === config.name)?.values ?? [];
      if (!(config.name in filled)) filled[config.name] = initial(config, options, trueValues);
      out.push({ config, options, depth });
      const v = filled[config.name];
      const chosen = options.find((o) => o.value === (Array.isArray(v) ? v[0] : v)) ?? options[0];
      walk(config.children, chosen?.children ?? [], depth + 1);
    }
  };
  walk(ui['input-config'], ui['input-values'], 0);
  return { fields: out, values: filled };
}

/** Fields the user does not choose: shown read-only, derived by the server from the root object. */
export function isFixed(f: Field): boolean {
  const t = f.config['input-type'];
  return t === 'static' || t === 'derived' || !f.config['user-settable'];
}

/**
 * The JSON body of the launch: the root object and the values of the inputs the user could set. Derived and
 * static inputs are left to the server (it derives them again from the root); an empty password field is left
 * out, so a configured secret is used without ever reaching the browser.
 */
export function launchBody(fields: Field[], values: FormValues, root: string): Record<string, FieldValue> {
  const body: Record<string, FieldValue> = {};
  for (const f of fields) {
    const v = values[f.config.name];
    if (f.config.name === root) {
      body[root] = v;
      continue;
    }
    if (isFixed(f)) continue;
    if (f.config['input-type'] === 'password' && v === '') continue;
    if (f.config['input-type'] === 'select-many') {
      body[f.config.name] = Array.isArray(v) ? v : [v];
      continue;
    }
    body[f.config.name] = v;
  }
  return body;
}

/** Required inputs left empty, by name, before anything is sent. */
export function missingRequired(fields: Field[], values: FormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (!f.config.required || isFixed(f) || f.config['input-type'] === 'boolean' || f.config['input-type'] === 'password') continue;
    const v = values[f.config.name];
    if (v === undefined || (Array.isArray(v) ? v.length === 0 : v.trim() === '')) errors[f.config.name] = `${f.config.label} is required`;
  }
  return errors;
}
