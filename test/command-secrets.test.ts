// Command secrets (XNAT 3.4+) on the real engine: a system-property secret read from XCS_SECRET_* or the secrets
// file reaches the container's environment (compared by hash, never by value) and appears in no response, log,
// provenance record, history or the run database; a missing one fails the run with XNAT's message and a hint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecretsFile, secretEnvName } from '../src/runtime/secrets/command-secrets.ts';
import { storedRunDatabaseText } from './helpers/postgres.ts';
import { ADMIN, outFile, startSettingsServer, type SettingsServer } from './helpers/settings-server.ts';

const fromEnv = randomBytes(16).toString('hex');
const fromFile = randomBytes(16).toString('hex');
let s: SettingsServer;
let secretsDir: string;

const sha256 = (v: string): string => createHash('sha256').update(v).digest('hex');

function secret(identifier: string, env: string): unknown {
  return { source: { type: 'system-property', identifier }, destination: { type: 'environment-variable', identifier: env } };
}

before(async () => {
  secretsDir = await mkdtemp(join(tmpdir(), 'xcs-secrets-'));
  const file = join(secretsDir, 'secrets');
  await writeFile(file, `# site secrets\nfile.key=${fromFile}\n`, { mode: 0o600 });
  s = await startSettingsServer({ [secretEnvName('bars.token')]: fromEnv, XCS_SECRETS_FILE: file });
  assert.equal((await s.setServer({ 'auto-cleanup': true })).status, 201);
});

after(async () => {
  await s.close();
  await rm(secretsDir, { recursive: true, force: true });
});

test('identifiers map to XCS_SECRET_ variables', () => {
  assert.equal(secretEnvName('bars.token'), 'XCS_SECRET_BARS_TOKEN');
  assert.equal(secretEnvName('a-b/c d'), 'XCS_SECRET_A_B_C_D');
});

test('a secrets file others can read, or a malformed line, is refused', async () => {
  const open = join(secretsDir, 'open');
  await writeFile(open, 'x=1\n');
  await chmod(open, 0o644);
  assert.throws(() => readSecretsFile(open), /can be read by others/);
  const bad = join(secretsDir, 'bad');
  await writeFile(bad, 'no equals sign\n', { mode: 0o600 });
  assert.throws(() => readSecretsFile(bad), /Line 1 .* is not "identifier=value"/);
});

test('secrets reach the container (same hash) and no response, log, provenance or record holds them', async () => {
  const w = await s.register('secretive',
    'printf %s "$TOKEN" | sha256sum | cut -d" " -f1 > /output/hashes.txt; printf %s "$FILE_KEY" | sha256sum | cut -d" " -f1 >> /output/hashes.txt; ' +
    'echo "token is $TOKEN"; echo "key is $FILE_KEY" >&2',
    { secrets: [secret('bars.token', 'TOKEN'), secret('file.key', 'FILE_KEY')] });
  const r = await s.launch(w);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const id = r.body.id as number;
  const c = await s.waitEnd(id);
  assert.equal(c.status, 'Complete', JSON.stringify(c.history));
  assert.equal(await outFile(s, 'secretive', 'hashes.txt'), `${sha256(fromEnv)}\n${sha256(fromFile)}\n`);

  const bodies: string[] = [JSON.stringify(r.body)];
  for (const path of [`/xapi/containers/${id}`, '/xapi/containers?all=true', `/xapi/containers/${id}/logs/stdout`, `/xapi/containers/${id}/logs/stderr`,
    `/xapi/containers/${id}/provenance`, `/xapi/projects/P/containers`]) {
    const res = await fetch(`${s.server.url}${path}`, { headers: ADMIN });
    assert.equal(res.status, 200, path);
    bodies.push(await res.text());
  }
  const zip = Buffer.from(await (await fetch(`${s.server.url}/xapi/containers/${id}/logs`, { headers: ADMIN })).arrayBuffer());
  bodies.push(zip.toString('latin1'));
  for (const value of [fromEnv, fromFile]) {
    for (const b of bodies) assert.ok(!b.includes(value), 'the secret is in no response');
  }
  assert.match(bodies[3], /token is \*+/, 'the tool printed it: the saved log is redacted');
  assert.match(bodies[4], /key is \*+/);
  // Never stored: not in the run database (records, history, provenance), nor in any saved log.
  const stored = storedRunDatabaseText(s.dataDir);
  assert.ok(stored.length > 0, 'the run database was read');
  for (const value of [fromEnv, fromFile]) assert.ok(!stored.includes(value), 'the run database does not hold the secret');
  // The command JSON shows where a secret comes from and goes, nothing more.
  const record = JSON.parse(bodies[1]) as { secrets: unknown[] };
  assert.deepEqual(record.secrets, [secret('bars.token', 'TOKEN'), secret('file.key', 'FILE_KEY')]);
});

test('a secret the site does not have fails the run with XNAT\'s message and says where to put it', async () => {
  const w = await s.register('needs-missing', 'echo never', { secrets: [secret('missing.one', 'MISSING')] });
  const c = await s.waitEnd((await s.launch(w)).body.id as number);
  assert.equal(c.status, 'Failed (Command resolution)');
  const last = c.history[c.history.length - 1];
  assert.equal(last.message, 'Could not resolve secret Secret{source=SystemProperty{"missing.one"}, destination=EnvironmentVariable{name="MISSING"}}');
  assert.match(c['failure-hint'] ?? '', /XCS_SECRET_MISSING_ONE/);
  assert.match(c['failure-hint'] ?? '', /--secrets-file/);
});

test('the validator keeps XNAT\'s secret messages', async () => {
  const r = await s.request('POST', '/xapi/commands/validate', {
    name: 'bad-secrets', version: '1', image: 'x/y:1', type: 'docker', 'command-line': 'true', 'environment-variables': { TOKEN: 'x' },
    secrets: [secret('a', 'XNAT_HOST'), secret('b', 'TOKEN')],
  });
  const messages = (r.body.errors as Array<{ message: string }>).map((e) => e.message).join('\n');
  assert.match(messages, /Secrets use reserved environment variable name "XNAT_HOST"/);
  assert.match(messages, /Secrets and environment variables both request name "TOKEN"/);
});
