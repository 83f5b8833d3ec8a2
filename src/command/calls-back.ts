/**
 * Commands that call XNAT back: their tool reads `XNAT_HOST`, `XNAT_USER` or `XNAT_PASS` (a quarter of the real
 * commands do, to download inputs or upload results over REST). Their containers need a network that reaches the
 * server, which XCS gives none by default; knowing it from the command alone lets `xcs validate`, availability and
 * the launch UI say so before anyone launches.
 */
import type { Command } from './model.ts';

export const CALLBACK_VARIABLES = ['XNAT_HOST', 'XNAT_USER', 'XNAT_PASS'] as const;

const REFERENCE = /\bXNAT_(HOST|USER|PASS)\b/g;

/** Where a command refers to the callback variables, and which ones (empty when it does not call back). */
export interface CallbackUse {
  variables: string[];
  /** JSON pointers of the fields that refer to them. */
  paths: string[];
}

export function callbackUse(command: Pick<Command, 'command-line' | 'environment-variables'>): CallbackUse {
  const variables = new Set<string>();
  const paths: string[] = [];
  const scan = (text: string | null | undefined, path: string): void => {
    const found = [...(text ?? '').matchAll(REFERENCE)].map((m) => m[0]);
    if (found.length === 0) return;
    found.forEach((v) => variables.add(v));
    paths.push(path);
  };
  scan(command['command-line'], '/command-line');
  for (const [name, value] of Object.entries(command['environment-variables'] ?? {})) {
    scan(value, `/environment-variables/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
  return { variables: CALLBACK_VARIABLES.filter((v) => variables.has(v)), paths };
}

/** What a site admin does so that a calling-back command works (README "Calling-back tools"). */
export const CALLBACK_NETWORK_HINT =
  'its container needs a network that reaches the server: a site admin sets the server setting "container-network" ' +
  '(e.g. "host" when XCS listens on 127.0.0.1; POST /xapi/docker/server), or allows the command\'s own "network" ' +
  'with "allowed-command-networks"';
