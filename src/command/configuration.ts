/**
 * Wrapper configuration (reference §2.1 "Configuration"): per wrapper, for the site and per project,
 * `{enabled, inputs: {name: {default-value, matcher, user-settable, advanced}}, outputs: {name: {label}}}`. The
 * project view is the site view overlaid field by field (a non-null project field wins, `overlayConfiguration`).
 * Applying a configuration to a command replaces, for every configured input, its `default-value` and `matcher`, and
 * for wrapper inputs `user-settable`; and each configured output handler's `label`. Stored by
 * `stores/wrapper-config-store.ts`, served by `http/xapi/configuration.ts`, applied at launch.
 */
import type { Command } from './model.ts';

export interface InputConfig {
  'default-value'?: string | null;
  matcher?: string | null;
  'user-settable'?: boolean | null;
  advanced?: boolean | null;
}

export interface CommandConfiguration {
  enabled?: boolean | null;
  inputs: Record<string, InputConfig>;
  outputs: Record<string, { label?: string | null }>;
}

function overlay<T extends object>(base: T, over: T): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) if (v !== null && v !== undefined) out[k] = v;
  return out as T;
}

/** The site configuration overlaid by the project's (non-null project fields win). */
export function overlayConfiguration(site: CommandConfiguration, project: CommandConfiguration): CommandConfiguration {
  const inputs: Record<string, InputConfig> = { ...site.inputs };
  for (const [name, c] of Object.entries(project.inputs)) inputs[name] = overlay(site.inputs[name] ?? {}, c);
  const outputs: CommandConfiguration['outputs'] = { ...site.outputs };
  for (const [name, c] of Object.entries(project.outputs)) outputs[name] = overlay(site.outputs[name] ?? {}, c);
  return { enabled: project.enabled ?? site.enabled ?? null, inputs, outputs };
}

/** The command with one wrapper and its configuration applied, as resolution should see it. */
export function applyConfiguration(command: Command, wrapperId: number, config: CommandConfiguration): Command {
  const c = structuredClone(command);
  c.xnat = c.xnat.filter((w) => w.id === wrapperId);
  const w = c.xnat[0];
  for (const i of c.inputs) {
    const k = config.inputs[i.name];
    if (!k) continue;
    if (k['default-value'] !== undefined) i['default-value'] = k['default-value'];
    if (k.matcher !== undefined) i.matcher = k.matcher;
  }
  if (w) {
    for (const i of [...w['external-inputs'], ...w['derived-inputs']]) {
      const k = config.inputs[i.name];
      if (!k) continue;
      if (k['default-value'] !== undefined) i['default-value'] = k['default-value'];
      if (k.matcher !== undefined) i.matcher = k.matcher;
      if (k['user-settable'] !== undefined) i['user-settable'] = k['user-settable'];
    }
    for (const h of w['output-handlers']) {
      const label = config.outputs[h.name]?.label;
      if (label !== undefined && label !== null) h.label = label;
    }
  }
  return c;
}
