import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const xcs = (...args: string[]) => spawnSync(join(root, 'bin', 'xcs'), args, { encoding: 'utf8', cwd: root });

test('xcs validate: exit 0 for valid files, 1 with errors listed by path, 2 without files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-cmd-cli-'));
  try {
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    await writeFile(good, JSON.stringify({ name: 'ok', image: 'a/b:1' }));
    await writeFile(bad, '{"name": "x", "image": "a/b:1", "inputs": [{"name": "has space"}], "workdir": "/w",}');
    const ok = xcs('validate', good);
    assert.equal(ok.status, 0);
    assert.equal(ok.stdout.trim(), `${good}: valid`);

    const mixed = xcs('validate', good, bad, join(dir, 'missing.json'));
    assert.equal(mixed.status, 1);
    assert.match(mixed.stdout, new RegExp(`${bad}: invalid\\n  error /inputs/0/name: .*\\[command.input.name-invalid\\]`));
    assert.match(mixed.stdout, /warning \/workdir: .*did you mean "working-directory".*\[command.key.unknown\]/);
    assert.match(mixed.stdout, /missing.json: invalid\n {2}error \(document\): cannot read the file/);

    const json = xcs('validate', '--json', good, bad);
    assert.equal(json.status, 1);
    const verdicts = JSON.parse(json.stdout) as { file: string; valid: boolean; errors: { path: string; code: string; message: string }[]; warnings: unknown[] }[];
    assert.deepEqual(verdicts.map((v) => [v.file, v.valid]), [[good, true], [bad, false]]);
    assert.deepEqual(verdicts[1].errors.map((e) => [e.path, e.code]), [['/inputs/0/name', 'command.input.name-invalid']]);
    assert.ok(verdicts[1].warnings.length >= 2);

    assert.equal(xcs('validate').status, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('xcs validate warns about a misspelt context type with "did you mean", without --strict', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-cmd-cli-'));
  try {
    const file = join(dir, 'ctx.json');
    await writeFile(file, JSON.stringify({ name: 'ctx', image: 'a/b:1', 'command-line': 'echo',
      xnat: [{ name: 'w', contexts: ['xnat:mrSesionData'], 'external-inputs': [{ name: 'session', type: 'Session' }] }] }));
    const r = xcs('validate', file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /warning \/xnat\/0\/contexts\/0: context "xnat:mrSesionData" .*did you mean "xnat:mrSessionData"/);
    // Only that one of the best-practice warnings: the others wait for --strict.
    assert.doesNotMatch(r.stdout, /strict\.(memory|image)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('xcs validate accepts the example commands; xcs schema prints the JSON Schema', () => {
  const ex = spawnSync('sh', ['-c', 'bin/xcs validate examples/commands/*.json'], { encoding: 'utf8', cwd: root });
  assert.equal(ex.status, 0, ex.stdout);
  assert.match(ex.stdout, /dcm2niix.json: valid/);
  const s = xcs('schema');
  assert.equal(s.status, 0);
  const schema = JSON.parse(s.stdout) as { $schema: string; $defs: { command: { properties: Record<string, unknown> } } };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.match(JSON.stringify(schema.$defs.command.properties.xnat), /"derived-from-wrapper-input"/);
});
