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
