/** Lists several pages need: the projects the user can read and the commands they can see. */
import { getJson } from './client.ts';
import type { Command, ProjectRow, ResultSet } from './types.ts';

export async function loadProjects(signal?: AbortSignal): Promise<ProjectRow[]> {
  const { data } = await getJson<ResultSet<ProjectRow>>('/data/projects?format=json', signal);
  return [...data.ResultSet.Result].sort((a, b) => a.ID.localeCompare(b.ID));
}

export async function loadCommands(signal?: AbortSignal): Promise<Command[]> {
  return (await getJson<Command[]>('/xapi/commands', signal)).data;
}

/** "Command / wrapper" names by wrapper id, for run rows (a run record carries ids only). */
export function wrapperNames(commands: Command[] | undefined): Map<number, { command: string; wrapper: string }> {
  const out = new Map<number, { command: string; wrapper: string }>();
  for (const c of commands ?? []) for (const w of c.xnat) out.set(w.id, { command: c.label || c.name, wrapper: w.label || w.name });
  return out;
}
