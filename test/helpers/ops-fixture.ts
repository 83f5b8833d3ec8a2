/**
 * The operations tests' site: a real server over a data directory that survives restarts (same port on restart,
 * so clients that reconnect find it), project P with sessions, an owner, a member who may read, an outsider, and
 * two busybox session commands — one that completes and one that exits 3.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import { removeInstanceContainers } from './runs.ts';
import { basic, call } from '../xapi-helpers.ts';
import { dropDataDirSchemas } from './postgres.ts';

export const ADMIN_PASSWORD = 'admin-pw-ops';
export const PASSWORDS = { owner: 'owner-pw-1', member: 'member-pw-1', outsider: 'outsider-pw-1' } as const;
export type Who = 'admin' | keyof typeof PASSWORDS;

export function auth(who: Who): Record<string, string> {
  return basic(who, who === 'admin' ? ADMIN_PASSWORD : PASSWORDS[who]);
}

const session = (name: string, commandLine: string) => ({
  name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
  inputs: [{ name: 'label', 'replacement-key': '#LABEL#' }],
  xnat: [{
    name: `${name}-session`, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }],
    'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
      'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
  }],
});

export const OK_COMMAND = session('ops-ok', 'echo done #LABEL#');
export const FAIL_COMMAND = session('ops-fail', 'echo failing #LABEL# ; exit 3');

export interface OpsSite {
  dir: string;
  dataDir: string;
  server: RunningServer;
  port: number;
  sessions: string[];
  wrappers: { ok: number; fail: number };
  restart(): Promise<void>;
  stop(): Promise<void>;
  launch(kind: 'ok' | 'fail', sessionIndex: number, who?: Who): Promise<number>;
  waitEnded(ids: number[]): Promise<Array<{ id: number; status: string }>>;
}

async function listen(dataDir: string, port: number): Promise<RunningServer> {
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = ADMIN_PASSWORD;
  try {
    // A restart on the same port may find it still held for a moment by the closing server.
    for (let i = 0; ; i++) {
      try {
        return await startServer({ port, host: '127.0.0.1', dataDir });
      } catch (e) {
        if (i >= 50 || !(e instanceof Error) || !/EADDRINUSE/.test(e.message)) throw e;
        await sleep(100);
      }
    }
  } finally {
    delete process.env.XCS_ADMIN_PASSWORD;
  }
}

export async function startOpsSite(sessionCount = 3): Promise<OpsSite> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-ops-test-'));
  const dataDir = join(dir, 'data');
  const site = { dir, dataDir } as OpsSite;
  site.server = await listen(dataDir, 0);
  site.port = Number(new URL(site.server.url).port);
  const { archive, users } = site.server.opened;
  await archive.createProject({ id: 'P' }, 'admin');
  const subject = await archive.createSubject('P', { label: 'S1' }, 'admin');
  site.sessions = [];
  for (let i = 1; i <= sessionCount; i++) {
    site.sessions.push((await archive.createSession(subject.id, { label: `E${i}`, xsiType: 'xnat:mrSessionData' }, 'admin')).archiveUri);
  }
  for (const [login, password] of Object.entries(PASSWORDS)) await users.addUser({ login, password, email: `${login}@example.org` });
  await users.setRole('P', 'owner', 'owner');
  await users.setRole('P', 'member', 'member');
  const wrappers: Record<string, number> = {};
  for (const [kind, command] of [['ok', OK_COMMAND], ['fail', FAIL_COMMAND]] as const) {
    const r = await call(site.server.url, 'POST', '/xapi/commands', { headers: auth('admin'), json: command });
    if (r.status !== 201) throw new Error(r.text);
    const c = (await call(site.server.url, 'GET', `/xapi/commands/${Number(r.body)}`, { headers: auth('admin') })).body as { xnat: Array<{ id: number }> };
    wrappers[kind] = c.xnat[0].id;
    await call(site.server.url, 'PUT', `/xapi/wrappers/${wrappers[kind]}/enabled`, { headers: auth('admin') });
    await call(site.server.url, 'PUT', `/xapi/projects/P/wrappers/${wrappers[kind]}/enabled`, { headers: auth('admin') });
  }
  site.wrappers = { ok: wrappers.ok, fail: wrappers.fail };
  site.restart = async () => {
    await site.server.close();
    site.server = await listen(dataDir, site.port);
  };
  site.stop = async () => {
    await site.server.close();
    await removeInstanceContainers(dataDir);
    dropDataDirSchemas(dataDir);
    await rm(dir, { recursive: true, force: true });
  };
  site.launch = async (kind, i, who = 'member') => {
    const r = await call(site.server.url, 'POST', `/xapi/projects/P/wrappers/${site.wrappers[kind]}/root/session/launch`,
      { headers: auth(who), json: { session: site.sessions[i] } });
    if (r.status !== 200) throw new Error(`launch answered ${r.status}: ${r.text}`);
    return (r.body as { id: number }).id;
  };
  site.waitEnded = async (ids) => {
    for (;;) {
      const all = (await call(site.server.url, 'GET', '/xapi/containers?all=true', { headers: auth('admin') })).body as Array<{ id: number; status: string }>;
      const runs = all.filter((r) => ids.includes(r.id));
      if (runs.length === ids.length && runs.every((r) => /^(Complete|Failed|Killed)/.test(r.status))) return runs;
      await sleep(100);
    }
  };
  return site;
}
