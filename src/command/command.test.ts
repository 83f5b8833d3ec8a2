import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findWrapper, parseCommandText, parseCommandValue, validateCommand, type Command } from './index.ts';
import { neutraliseTemplates } from './validate.ts';

const minimal = { name: 'c', image: 'x/y:1' };

function codes(r: { errors: { code: string; path: string }[] }): string[] {
  return r.errors.map((e) => `${e.code} ${e.path}`);
}

test('defaults are filled in as XNAT returns them', () => {
  const r = validateCommand({
    ...minimal,
    mounts: [{ name: 'in', path: '/in' }],
    inputs: [{ name: 'a' }],
    outputs: [{ name: 'o', mount: 'in' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 's' }], 'derived-inputs': [{ name: 'd', 'derived-from-wrapper-input': 's' }],
      'output-handlers': [{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 's', label: 'L' }] }],
  });
  assert.deepEqual(r.errors, []);
  const c = r.command as Command;
  assert.equal(c.type, 'docker');
  assert.equal(c.visibility, 'public');
  assert.equal(c['override-entrypoint'], false);
  assert.deepEqual(c['environment-variables'], {});
  assert.deepEqual(c.secrets, []);
  assert.equal(c['limit-cpu'], null);
  assert.equal(c.mounts[0].writable, false);
  assert.equal(c.inputs[0].type, 'string');
  assert.equal(c.inputs[0].required, false);
  assert.equal(c.inputs[0]['replacement-key'], null);
  assert.equal(c.outputs[0].required, false);
  const w = c.xnat[0];
  assert.equal(w['external-inputs'][0].required, true);
  assert.equal(w['external-inputs'][0]['load-children'], true);
  assert.equal(w['external-inputs'][0].type, 'string');
  assert.equal(w['derived-inputs'][0].multiple, false);
  assert.equal(w['output-handlers'][0].type, 'Resource');
  assert.equal(findWrapper(c, 'w'), w);
  assert.equal(findWrapper(c, 0), w);
  assert.equal(findWrapper(c, 'nope'), undefined);
});

test('string booleans and numbers are coerced; legacy keys are mapped with a warning', () => {
  const r = validateCommand({
    ...minimal, 'override-entrypoint': 'true', 'reserve-memory': '1024', mounts: [{ name: 'o', path: '/o', writable: 'TRUE' }],
    inputs: [{ name: 'n', 'default-value': true }],
    outputs: [{ name: 'out', mount: 'o', required: 'true' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 's', type: 'Session' }],
      'output-handlers': [{ name: 'h', 'accepts-command-output': 'out', 'as-a-child-of-wrapper-input': 's', label: 'R' }] }],
  });
  assert.deepEqual(r.errors, []);
  const c = r.command as Command;
  assert.equal(c['override-entrypoint'], true);
  assert.equal(c['reserve-memory'], 1024);
  assert.equal(c.mounts[0].writable, true);
  assert.equal(c.inputs[0]['default-value'], 'true');
  assert.equal(c.outputs[0].required, true);
  assert.equal(c.xnat[0]['output-handlers'][0]['as-a-child-of'], 's');
  assert.ok(r.warnings.some((w) => w.code === 'command.key.legacy' && w.path === '/xnat/0/output-handlers/0/as-a-child-of-wrapper-input'));
});

test('unknown keys are warnings with their path and a suggestion', () => {
  const r = validateCommand({ ...minimal, workdir: '/w', 'comand-line': 'x' });
  assert.equal(r.valid, true);
  const byPath = new Map(r.warnings.map((w) => [w.path, w]));
  assert.match(byPath.get('/workdir')?.message ?? '', /did you mean "working-directory"/);
  assert.match(byPath.get('/comand-line')?.message ?? '', /did you mean "command-line"/);
});

test('trailing commas are accepted with a warning; syntax errors give line and column', () => {
  const ok = parseCommandText('{"name": "c", "image": "x/y:1",\n}');
  assert.equal(ok.commands[0].valid, true);
  assert.match(ok.warnings[0].message, /line 1, column 31: trailing comma/);
  const bad = parseCommandText('{\n  "name": "c"\n  "image": "x"\n}');
  assert.equal(bad.commands.length, 0);
  assert.equal(bad.errors[0].code, 'command.json.syntax');
  assert.match(bad.errors[0].message, /line 3, column 3/);
});

test('a list of commands (label form) gets per-command pointer prefixes', () => {
  const r = parseCommandValue([minimal, { name: '', image: 'x' }]);
  assert.equal(r.format, 'command-list');
  assert.equal(r.commands[0].valid, true);
  assert.equal(r.commands[1].valid, false);
  assert.ok(codes(r.commands[1]).includes('command.name.blank /1/name'));
});

test('the pre-1.0 format is recognised and reported at its field', () => {
  const r = parseCommandValue({ name: 'old', 'docker-image': 'a/b:1', run: { 'command-line': 'x' } });
  assert.equal(r.format, 'pre-1.0');
  assert.deepEqual(codes(r.commands[0]), ['command.format.pre-1.0 /docker-image']);
  assert.match(r.commands[0].errors[0].message, /rename "docker-image" to "image"/);
});

test('image handling depends on how the command arrives', () => {
  assert.equal(validateCommand({ name: 'c', image: 'x/y' }).command?.image, 'x/y:latest');
  assert.deepEqual(codes(validateCommand({ name: 'c' }, { mode: 'rest' })), ['command.image.blank /image']);
  assert.equal(validateCommand({ name: 'c' }, { mode: 'rest', image: 'q/r' }).command?.image, 'q/r:latest');
  assert.deepEqual(codes(validateCommand({ name: 'c', image: 'a:1' }, { mode: 'label', image: 'untagged' })), ['command.image.missing-tag /image']);
  assert.equal(validateCommand({ name: 'c' }, { mode: 'label', image: 'l/m:2' }).command?.image, 'l/m:2');
});

test('XNAT rules report every error at once, each at its field', () => {
  const r = validateCommand({
    name: 'c', image: 'x/y:1', type: 'docker', visibility: 'Public', ulimits: { nofile: '1:2:3' },
    mounts: [{ name: 'm', path: '/m' }, { name: 'm', path: '' }],
    inputs: [{ name: 'bad name' }, { name: 's', type: 'select-one' }, { name: 't', 'select-values': ['a'] }, { name: 'u', type: 'select-one', 'select-values': ['a'], 'default-value': 'b' }],
    outputs: [{ name: 'o', mount: 'nope' }, { name: 'p', mount: 'm' }],
    xnat: [{
      name: 'w',
      'external-inputs': [{ name: 'e', type: 'Sesion', 'via-setup-command': 'a/b:1' }],
      'derived-inputs': [
        { name: 'd1', 'derived-from-wrapper-input': 'missing' },
        { name: 'd2', 'derived-from-wrapper-input': 'd2' },
        { name: 'd3', 'derived-from-wrapper-input': 'e', multiple: true, 'provides-files-for-command-mount': 'm' },
        { name: 'd4', 'derived-from-wrapper-input': 'e', matcher: "@.label == 'x' &&" },
      ],
      'output-handlers': [{ name: 'h', 'accepts-command-output': 'o', 'as-a-child-of': 'zz', type: 'resource' }],
    }],
  });
  const got = codes(r);
  for (const expected of [
    'command.visibility.unknown /visibility',
    'command.ulimit.invalid /ulimits/nofile',
    'command.mount.duplicate-name /mounts/1/name',
    'command.mount.path-blank /mounts/1/path',
    'command.input.name-invalid /inputs/0/name',
    'command.input.select-values-missing /inputs/1/select-values',
    'command.input.select-values-unexpected /inputs/2/select-values',
    'command.input.default-not-in-select-values /inputs/3/default-value',
    'command.output.unknown-mount /outputs/0/mount',
    'wrapper.input.unknown-type /xnat/0/external-inputs/0/type',
    'wrapper.input.via-setup-without-mount /xnat/0/external-inputs/0/via-setup-command',
    'wrapper.derived-input.unknown-parent /xnat/0/derived-inputs/0/derived-from-wrapper-input',
    'wrapper.derived-input.self-parent /xnat/0/derived-inputs/1/derived-from-wrapper-input',
    'wrapper.derived-input.multiple-with-files /xnat/0/derived-inputs/2/multiple',
    'wrapper.derived-input.multiple-without-value /xnat/0/derived-inputs/2/multiple',
    'wrapper.input.matcher-syntax /xnat/0/derived-inputs/3/matcher',
    'wrapper.output-handler.unknown-parent /xnat/0/output-handlers/0/as-a-child-of',
    'wrapper.output-handler.unknown-type /xnat/0/output-handlers/0/type',
    'wrapper.output.unhandled /xnat/0/output-handlers',
  ]) assert.ok(got.includes(expected), `missing ${expected} in\n${got.join('\n')}`);
  assert.equal(r.valid, false);
  assert.equal(r.command, null);
  for (const e of r.errors) assert.ok(e.message.length > 10);
});

test('setup commands may not declare inputs; secrets may not use reserved names', () => {
  assert.deepEqual(codes(validateCommand({ ...minimal, type: 'docker-setup', inputs: [{ name: 'a' }] })), ['command.setup.forbidden-field /inputs']);
  const r = validateCommand({ ...minimal, 'environment-variables': { A: '1' }, secrets: [
    { source: { type: 'system-property', identifier: 'p' }, destination: { type: 'environment-variable', identifier: 'XNAT_PASS' } },
    { source: { type: 'system-property', identifier: 'p' }, destination: { type: 'environment-variable', identifier: 'A' } },
  ] });
  assert.deepEqual(codes(r), ['command.secret.reserved-name /secrets/0/destination/identifier', 'command.secret.env-conflict /secrets/1/destination/identifier']);
});

test('our own checks: unknown command-line keys and dangling references are warnings', () => {
  const r = validateCommand({ ...minimal, 'command-line': 'run #IN# #MISSING#', inputs: [{ name: 'IN' }],
    xnat: [{ name: 'w', 'external-inputs': [{ name: 's', 'provides-value-for-command-input': 'nope', 'provides-files-for-command-mount': 'nomount' }] }] });
  assert.equal(r.valid, true);
  const got = r.warnings.map((w) => `${w.code} ${w.path}`);
  assert.ok(got.includes('command.command-line.unknown-key /command-line'));
  assert.ok(got.includes('wrapper.input.unknown-command-input /xnat/0/external-inputs/0/provides-value-for-command-input'));
  assert.ok(got.includes('wrapper.input.unknown-mount /xnat/0/external-inputs/0/provides-files-for-command-mount'));
});

test('template tokens in matchers are neutralised before the syntax check', () => {
  assert.equal(neutraliseTemplates("@.label == '#LABEL#'"), "@.label == 'x'");
  assert.equal(neutraliseTemplates('@.id == #ID#'), '@.id == 0');
  assert.equal(neutraliseTemplates("@.t in [^wrapper:$.a[?(@.n == 'T')].value^]"), '@.t in [0]');
  assert.equal(validateCommand({ ...minimal, xnat: [{ name: 'w', 'external-inputs': [{ name: 's', matcher: "@.label == '#X#'" }] }] }).valid, true);
});

test('wrong value types are errors naming the field, and nothing throws', () => {
  const r = validateCommand({ ...minimal, mounts: 'x', inputs: [42], 'shm-size': '4g', 'override-entrypoint': 'maybe' });
  assert.deepEqual(codes(r), ['command.field.not-a-boolean /override-entrypoint', 'command.field.not-a-list /mounts', 'command.field.not-an-object /inputs/0', 'command.field.not-a-number /shm-size']);
  assert.match(r.errors.find((e) => e.path === '/shm-size')?.message ?? '', /4294967296/);
  for (const v of [null, 1, 'x', [], [[]], { xnat: [null] }]) assert.doesNotThrow(() => parseCommandValue(v));
});

test('mounts at / and ulimits that cannot start are refused at their field; calling back is a warning naming the setting', () => {
  const r = validateCommand({
    name: 'c', image: 'x/y:1', type: 'docker', 'command-line': 'curl $XNAT_HOST/data/projects',
    mounts: [{ name: 'root', path: '/' }, { name: 'ok', path: '/output' }],
    ulimits: { nofiles: '1024', nofile: '4096:1024', nproc: 'lots', core: 'unlimited', stack: '-1:unlimited' },
  });
  const got = codes(r);
  for (const expected of ['command.mount.path-root /mounts/0/path', 'command.ulimit.unknown-name /ulimits/nofiles',
    'command.ulimit.soft-above-hard /ulimits/nofile', 'command.ulimit.not-a-number /ulimits/nproc']) {
    assert.ok(got.includes(expected), `${expected} in ${got.join(', ')}`);
  }
  assert.ok(!got.some((c) => c.includes('/mounts/1') || c.includes('/ulimits/core') || c.includes('/ulimits/stack')), got.join(', '));
  const warning = r.warnings.find((w) => w.code === 'command.calls-back');
  assert.equal(warning?.path, '/command-line');
  assert.match(warning?.message ?? '', /uses XNAT_HOST.*"container-network"/);
  const quiet = validateCommand({ name: 'c', image: 'x/y:1', type: 'docker', 'command-line': 'echo hi' });
  assert.ok(!quiet.warnings.some((w) => w.code === 'command.calls-back'));
});
