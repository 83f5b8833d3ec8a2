// XNAT's status e-mail through a real SMTP server (Debian's python3-aiosmtpd, saving to a Maildir), with the real
// engine and Docker: nothing while `status-email-enabled` is off; once on, the launching user gets XNAT's
// `<pipeline> update: Failed|Completed processing of <object> in project <project>` for each ended run, and a bulk
// launch sends one digest for all its runs, not one mail per run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDockerHarness } from './helpers/docker.ts';
import { auth, startOpsSite, type OpsSite } from './helpers/ops-fixture.ts';
import { call } from './xapi-helpers.ts';

let site: OpsSite;
let smtp: ChildProcess;
let maildir = '';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

interface Mail { to: string; subject: string; text: string }

async function mails(): Promise<Mail[]> {
  const dir = join(maildir, 'new');
  const out: Mail[] = [];
  for (const f of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const raw = await readFile(join(dir, f), 'utf8');
    const [head, ...body] = raw.split(/\r?\n\r?\n/);
    const header = (name: string) => new RegExp(`^${name}: (.*(?:\\r?\\n[ \\t].*)*)`, 'mi').exec(head)?.[1].replace(/\r?\n[ \t]+/g, ' ') ?? '';
    out.push({ to: header('To'), subject: header('Subject'), text: body.join('\n\n') });
  }
  return out;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await get();
    if (ok(v)) return v;
    if (i > 1200) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  await ensureDockerHarness();
  const port = await freePort();
  site = await startOpsSite(3);
  maildir = join(site.dir, 'maildir'); // created by the Mailbox handler (an empty directory is no Maildir)
  smtp = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { stdio: 'ignore' });
  await until('the SMTP server', () => accepts(port), (v) => v);
  // The SMTP settings are read when the server starts.
  process.env.XCS_SMTP_URL = `smtp://127.0.0.1:${port}`;
  process.env.XCS_MAIL_FROM = 'xcs@example.org';
  await site.restart();
});

after(async () => {
  delete process.env.XCS_SMTP_URL;
  delete process.env.XCS_MAIL_FROM;
  await site.stop();
  smtp.kill();
});

async function setEmail(enabled: boolean): Promise<void> {
  const current = (await call(site.server.url, 'GET', '/xapi/docker/server', { headers: auth('admin') })).body as Record<string, unknown>;
  const r = await call(site.server.url, 'POST', '/xapi/docker/server', { headers: auth('admin'), json: { ...current, 'status-email-enabled': enabled } });
  assert.equal(r.status, 201, r.text);
}

test('status e-mails: off by default, then one per ended run to the launching user, with XNAT subjects', async () => {
  const quiet = await site.launch('fail', 0);
  await site.waitEnded([quiet]);
  await setEmail(true);
  const failed = await site.launch('fail', 1);
  const got = await until('the failure mail', mails, (m) => m.length >= 1);
  assert.equal(got.length, 1, 'no mail for the run that ended while e-mail was off');
  assert.equal(got[0].to, 'member@example.org');
  assert.equal(got[0].subject, 'ops-fail-session update: Failed processing of E2 in project P');
  assert.match(got[0].text, new RegExp(`Container ${failed} `));
  assert.match(got[0].text, /exit code 3/);

  await site.launch('ok', 2);
  const both = await until('the completion mail', mails, (m) => m.length >= 2);
  assert.equal(both[1].subject, 'ops-ok-session update: Completed processing of E3 in project P');
});

test('a bulk launch sends one digest', async () => {
  const before = (await mails()).length;
  const r = await call(site.server.url, 'POST', `/xapi/projects/P/wrappers/${site.wrappers.fail}/root/session/bulklaunch`,
    { headers: auth('member'), json: { session: JSON.stringify(site.sessions) } });
  assert.equal(r.status, 200, r.text);
  const ids = (r.body as { successes: Array<{ id: number }> }).successes.map((x) => x.id);
  assert.equal(ids.length, 3);
  await site.waitEnded(ids);
  const all = await until('the digest', mails, (m) => m.length > before);
  await sleep(1500); // per-run mails, if any were sent, would have arrived by now
  const after = (await mails()).slice(before);
  assert.equal(after.length, 1, after.map((m) => m.subject).join('\n'));
  assert.equal(all[before].to, 'member@example.org');
  assert.match(after[0].subject, /^ops-fail-session update: 3 runs ended, 0 completed, 3 failed or killed$/);
  for (const id of ids) assert.match(after[0].text, new RegExp(`Container ${id} `));
});
