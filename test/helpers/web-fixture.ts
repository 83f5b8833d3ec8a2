/**
 * The archive and commands the web console's browser test (and a developer looking at the console) works on:
 * project WEB with three MR sessions, a member who may launch and a collaborator who may only read, and busybox
 * commands — an echo wrapper enabled for the site and the project (text, select, boolean, sensitive and advanced
 * inputs; a REPORT resource as output), the same command's second wrapper left disabled for the project, a
 * scan-only wrapper (not applicable to sessions), and a command that fails.
 */
import { Readable } from 'node:stream';
import type { RunningServer } from '../../src/app/server.ts';
import { requestJson } from './http.ts';

export const WEB_PROJECT = 'WEB';
export const WEB_PASSWORD = 'pw-web-1';

export const ECHO_COMMAND = {
  name: 'web-echo', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', label: 'Echo',
  description: 'Greets a session and writes a report',
  'command-line': 'echo #GREETING# from #LABEL# mode #MODE# #SHOUT# ; sleep 1 ; echo report #LABEL# > /output/report.txt ; echo note #NOTE# 1>&2',
  'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  inputs: [
    { name: 'label', 'replacement-key': '#LABEL#', required: true },
    { name: 'greeting', 'replacement-key': '#GREETING#', required: true, 'default-value': 'Hello', description: 'What to say' },
    { name: 'mode', type: 'select-one', 'select-values': ['fast', 'slow'], 'default-value': 'fast', 'replacement-key': '#MODE#' },
    { name: 'shout', type: 'boolean', 'true-value': 'LOUD', 'false-value': 'quiet', 'default-value': 'false', 'replacement-key': '#SHOUT#' },
    { name: 'token', sensitive: true, required: false, 'default-value': 'tok-secret-123', description: 'An API key' },
    { name: 'note', 'replacement-key': '#NOTE#', required: false, 'default-value': 'none', description: 'Written to stderr' },
  ],
  outputs: [{ name: 'report', mount: 'out', path: 'report.txt', required: true }],
  xnat: [
    {
      name: 'echo-session', label: 'Echo a session', description: 'Says hello to a session', contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
        'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
      'output-handlers': [{ name: 'report-resource', 'accepts-command-output': 'report', 'as-a-child-of': 'session', type: 'Resource', label: 'REPORT' }],
    },
    {
      name: 'echo-disabled', label: 'Echo (not enabled here)', description: 'The same, not enabled for the project', contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
        'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
      'output-handlers': [{ name: 'report-resource', 'accepts-command-output': 'report', 'as-a-child-of': 'session', type: 'Resource', label: 'REPORT2' }],
    },
    {
      name: 'echo-scan', label: 'Echo a scan', description: 'Runs on scans only', contexts: ['xnat:imageScanData'],
      'external-inputs': [{ name: 'scan', type: 'Scan', required: true }],
      'derived-inputs': [{ name: 'scan-id', type: 'string', 'derived-from-wrapper-input': 'scan',
        'derived-from-xnat-object-property': 'id', 'provides-value-for-command-input': 'label' }],
      'output-handlers': [{ name: 'report-resource', 'accepts-command-output': 'report', 'as-a-child-of': 'scan', type: 'Resource', label: 'REPORT' }],
    },
  ],
};

export const FAIL_COMMAND = {
  name: 'web-fail', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', label: 'Fail',
  'command-line': 'echo about to fail ; exit 3', 'override-entrypoint': true,
  xnat: [{
    name: 'fail-session', label: 'Always fails', description: 'Exits 3', contexts: ['xnat:imageSessionData'],
    'external-inputs': [{ name: 'session', type: 'Session', required: true }],
  }],
};

export interface WebFixture {
  sessions: Array<{ id: string; label: string; uri: string }>;
  echoCommand: number;
  echoWrapper: number;
  disabledWrapper: number;
  failWrapper: number;
}

/** Seeds the server through its archive and its REST API as `admin`. */
export async function seedWebFixture(s: RunningServer, adminPassword: string): Promise<WebFixture> {
  const headers = { authorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}` };
  const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(s.url, headers, method, path, body);
  const { archive, users } = s.opened;
  await archive.createProject({ id: WEB_PROJECT }, 'admin');
  const subject = await archive.createSubject(WEB_PROJECT, { label: 'S1' }, 'admin');
  const sessions: WebFixture['sessions'] = [];
  for (const label of ['MR1', 'MR2', 'MR3']) {
    const e = await archive.createSession(subject.id, { label, xsiType: 'xnat:mrSessionData' }, 'admin');
    const r = await archive.createResource({ kind: 'session', session: e.id }, { label: 'NOTES' }, 'admin');
    await archive.putFile(r.id, 'notes.txt', Readable.from([Buffer.from(`${label}\n`)]), {}, 'admin');
    sessions.push({ id: e.id, label, uri: e.archiveUri });
  }
  for (const [login, role] of [['member', 'member'], ['reader', 'collaborator']] as const) {
    await users.addUser({ login, password: WEB_PASSWORD, enabled: true, verified: true });
    await users.setRole(WEB_PROJECT, login, role);
  }
  const echoCommand = await api<number>('POST', '/xapi/commands', ECHO_COMMAND);
  const wrappers = (await api<{ xnat: Array<{ id: number; name: string }> }>('GET', `/xapi/commands/${echoCommand}`)).xnat;
  const id = (name: string): number => wrappers.find((w) => w.name === name)!.id;
  for (const w of wrappers) await api('PUT', `/xapi/wrappers/${w.id}/enabled`);
  await api('PUT', `/xapi/projects/${WEB_PROJECT}/wrappers/${id('echo-session')}/enabled`);
  await api('PUT', `/xapi/projects/${WEB_PROJECT}/wrappers/${id('echo-scan')}/enabled`);
  // The note is an advanced input: the launch form folds it away.
  await api('POST', `/xapi/wrappers/${id('echo-session')}/config?enable=false`, { inputs: { note: { advanced: true } } });
  const failCommand = await api<number>('POST', '/xapi/commands', FAIL_COMMAND);
  const failWrapper = (await api<{ xnat: Array<{ id: number }> }>('GET', `/xapi/commands/${failCommand}`)).xnat[0].id;
  await api('PUT', `/xapi/wrappers/${failWrapper}/enabled`);
  await api('PUT', `/xapi/projects/${WEB_PROJECT}/wrappers/${failWrapper}/enabled`);
  return { sessions, echoCommand, echoWrapper: id('echo-session'), disabledWrapper: id('echo-disabled'), failWrapper };
}
