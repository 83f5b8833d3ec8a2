/**
 * Command secrets (XNAT 3.4+, reference §1.8): `source` `system-property` → `destination` `environment-variable`.
 * XCS has no Java system properties; an identifier `bars.token` is read from the server's environment variable
 * `XCS_SECRET_BARS_TOKEN`, or from the secrets file given at start-up (mode 0600, `identifier=value` a line).
 * Values are read when a container is created and never stored: not in the run record, its history, logs,
 * provenance or any response (logs are redacted with the values read again at the time).
 */
import { readFileSync, statSync } from 'node:fs';
import type { CommandSecret } from '../../command/model.ts';
import { XcsError } from '../../core/errors.ts';

export interface SecretSource {
  /** The value of a `system-property` identifier, or undefined when the site has none. */
  value(identifier: string): string | undefined;
}

/** `bars.token` → `XCS_SECRET_BARS_TOKEN`. */
export function secretEnvName(identifier: string): string {
  return `XCS_SECRET_${identifier.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Reads a secrets file: one `identifier=value` a line (`#` comments and blank lines skipped). Refused unless only
 * its owner can read it, so a secret is never in a file others can read.
 */
export function readSecretsFile(file: string): Map<string, string> {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (e) {
    throw new XcsError('config.secrets-file', `The secrets file ${file} cannot be read: ${(e as Error).message}`, { path: file });
  }
  if ((mode & 0o077) !== 0) {
    throw new XcsError('config.secrets-file', `The secrets file ${file} can be read by others (mode ${(mode & 0o777).toString(8)})`,
      { path: file, hint: `chmod 600 ${file}` });
  }
  const out = new Map<string, string>();
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new XcsError('config.secrets-file', `Line ${i + 1} of the secrets file ${file} is not "identifier=value"`, { path: `${file}:${i + 1}` });
    }
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1));
  });
  return out;
}

/** The environment (read at each use, so a changed variable is seen) first, then the file's values. */
export function secretSource(options: { env?: NodeJS.ProcessEnv; file?: string | null } = {}): SecretSource {
  const env = options.env ?? process.env;
  const fromFile = options.file ? readSecretsFile(options.file) : new Map<string, string>();
  return { value: (id) => env[secretEnvName(id)] ?? fromFile.get(id) };
}

/** XNAT's rendering of a secret in its messages. */
export function describeSecret(s: CommandSecret): string {
  return `Secret{source=SystemProperty{"${s.source.identifier}"}, destination=EnvironmentVariable{name="${s.destination.identifier}"}}`;
}

/** Destination variable → value for a container; a secret the site does not have fails with XNAT's message. */
export function resolveSecrets(source: SecretSource, secrets: readonly CommandSecret[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of secrets) {
    const value = source.value(s.source.identifier);
    if (value === undefined) {
      throw new XcsError('secret-missing', `Could not resolve secret ${describeSecret(s)}`, {
        path: s.source.identifier,
        hint: `give the server the environment variable ${secretEnvName(s.source.identifier)}, or a line ` +
          `"${s.source.identifier}=…" in its secrets file (xcs serve --secrets-file FILE, mode 0600), restart it and relaunch`,
      });
    }
    out[s.destination.identifier] = value;
  }
  return out;
}

/** The values of the secrets the site has (for redaction; missing ones are skipped). */
export function secretValues(source: SecretSource | undefined, secrets: readonly CommandSecret[]): string[] {
  if (!source) return [];
  return secrets.map((s) => source.value(s.source.identifier)).filter((v): v is string => v !== undefined && v !== '');
}
