// Container logs over /xapi as reference §3.9 gives them, on a real run: `logSince` while the container runs
// (live, timestamps stripped, the next `since` one second after the last line, so a follower never sees a line
// twice) and after it ended (the saved file, `fromFile`, timestamp "-1"); XNAT's file-name rule for
// `logs/{file}` (anything "stdout.log" contains is stdout); an unparsable `since` is a 400 with XNAT's words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './archive-helpers.ts';
import { basic, call } from './xapi-helpers.ts';
import { stopWithContainers } from './helpers/runs.ts';

const COMMAND = {
  name: 'log-ticker', version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
  'command-line': "sh -c 'for i in 1 2 3 4; do echo line$i; sleep 1; done; echo oops >&2'",
  xnat: [{ name: 'log-ticker', contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }] }],
};

interface LogSince { content: string; fromFile: boolean; timestamp: string; bytesRead: number }

let s: TestServer;
let admin: Record<string, string>;
let run = 0;

const status = async (): Promise<string> => ((await call(s.url, 'GET', `/xapi/containers/${run}`, { headers: admin })).body as { status: string }).status;
const since = async (file: string, from?: string): Promise<LogSince> => {
  const r = await call(s.url, 'GET', `/xapi/containers/${run}/logSince/${file}${from ? `?since=${encodeURIComponent(from)}` : ''}`, { headers: admin });
  assert.equal(r.status, 200, r.text);
  return r.body as LogSince;
};

before(async () => {
  s = await startTestServer();
  admin = basic('admin', s.adminPassword);
  const { archive } = s.opened;
  await archive.createProject({ id: 'L' }, 'admin');
  const subject = await archive.createSubject('L', { label: 'S' }, 'admin');
  const session = await archive.createSession(subject.id, { label: 'E', xsiType: 'xnat:mrSessionData' }, 'admin');
  const reg = await call(s.url, 'POST', '/xapi/commands', { headers: admin, json: COMMAND });
  assert.equal(reg.status, 201, reg.text);
  const wid = ((await call(s.url, 'GET', `/xapi/commands/${Number(reg.body)}`, { headers: admin })).body as { xnat: Array<{ id: number }> }).xnat[0].id;
  assert.equal((await call(s.url, 'PUT', `/xapi/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  assert.equal((await call(s.url, 'PUT', `/xapi/projects/L/wrappers/${wid}/enabled`, { headers: admin })).status, 200);
  const r = await call(s.url, 'POST', `/xapi/wrappers/${wid}/root/session/launch`, { headers: admin, json: { session: session.archiveUri } });
  assert.equal(r.status, 200, r.text);
  run = (r.body as { id: number }).id;
});

after(async () => {
  await stopWithContainers(s);
});

test('logSince follows a running container without repeating a line, then answers the saved file', async () => {
  let first: LogSince | undefined;
  for (let i = 0; i < 300 && !first?.content.includes('line1'); i++) {
    if (/^(Complete|Failed)/.test(await status())) break;
    first = await since('stdout');
    if (!first.content.includes('line1')) await sleep(100);
  }
  assert.ok(first && first.content.includes('line1'), `the live log shows the first line: ${JSON.stringify(first)}`);
  assert.equal(first.fromFile, false);
  assert.equal(first.bytesRead, -1);
  assert.match(first.content, /^line1/m, 'timestamps are stripped');
  assert.match(first.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await sleep(2200);
  const next = await since('stdout', first.timestamp);
  assert.equal(next.fromFile, false, `still running: ${JSON.stringify(next)}`);
  assert.ok(!next.content.includes('line1'), `a line already read is not read again: ${JSON.stringify(next.content)}`);
  assert.match(next.content, /line[23]/);
  assert.ok(next.timestamp > first.timestamp, 'the next since moves on');

  for (let i = 0; i < 300 && !/^(Complete|Failed)/.test(await status()); i++) await sleep(100);
  assert.equal(await status(), 'Complete');
  const done = await since('stdout', first.timestamp);
  assert.deepEqual(done, { content: 'line1\nline2\nline3\nline4\n', fromFile: true, timestamp: '-1', bytesRead: -1 });
  assert.equal((await since('stderr')).content, 'oops\n');
});

test('logs/{file}: "stdout", "std", "out" and "stdout.log" are stdout, anything else stderr; a bad since is 400', async () => {
  for (let i = 0; i < 300 && !/^(Complete|Failed)/.test(await status()); i++) await sleep(100);
  for (const file of ['stdout', 'std', 'out', 'stdout.log']) {
    const r = await call(s.url, 'GET', `/xapi/containers/${run}/logs/${file}`, { headers: admin });
    assert.equal(r.status, 200, file);
    assert.equal(r.text, 'line1\nline2\nline3\nline4\n', file);
  }
  for (const file of ['stderr', 'err', 'stderr.log']) {
    assert.equal((await call(s.url, 'GET', `/xapi/containers/${run}/logs/${file}`, { headers: admin })).text, 'oops\n', file);
  }
  const bad = await call(s.url, 'GET', `/xapi/containers/${run}/logSince/stdout?since=yesterday-ish`, { headers: admin });
  assert.equal(bad.status, 400);
  assert.equal((bad.body as { message: string }).message, 'Could not parse timestamp yesterday-ish');
  // Following a finished run answers the whole log and ends.
  const followed = await call(s.url, 'GET', `/xapi/containers/${run}/logs/stdout?follow=true`, { headers: admin });
  assert.equal(followed.status, 200);
  assert.equal(followed.text, 'line1\nline2\nline3\nline4\n');
});
