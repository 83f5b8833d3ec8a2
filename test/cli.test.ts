import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('bin/xcs prints its help and exits 0', () => {
  const r = spawnSync('bin/xcs', ['--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: xcs/);
});

test('bin/xcs exits 2 on an unknown sub-command', () => {
  const r = spawnSync('bin/xcs', ['no-such-command'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command/);
});

test('xcs serve --database: a malformed URL, then a wrong password, stop the server with the reason and no password', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { postgresUrl } = await import('./helpers/postgres.ts');
  const dir = mkdtempSync(join(tmpdir(), 'xcs-cli-db-'));
  try {
    const serve = (url: string) => spawnSync('bin/xcs', ['serve', '--port', '0', '--data', join(dir, 'data'), '--database', url],
      { encoding: 'utf8', env: { ...process.env, XCS_ADMIN_PASSWORD: 'admin-pw-1', XCS_DATABASE_URL: '' }, timeout: 60_000 });
    const malformed = serve('mysql://u:Pw-in-url-1@127.0.0.1/x');
    assert.notEqual(malformed.status, 0);
    assert.match(malformed.stderr, /postgres:\/\//);
    const wrong = new URL(postgresUrl());
    wrong.password = 'Wrong-pw-never-shown';
    const refused = serve(wrong.toString());
    assert.notEqual(refused.status, 0);
    // Whichever database opens first (the archive's or the run database) says it cannot connect, the password hidden.
    assert.match(refused.stderr, /(cannot connect to PostgreSQL at |cannot open the archive database: .*\()postgres:\/\/xcs:\*\*\*@/);
    for (const r of [malformed, refused]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes('Wrong-pw-never-shown') && !`${r.stdout}${r.stderr}`.includes('Pw-in-url-1'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
