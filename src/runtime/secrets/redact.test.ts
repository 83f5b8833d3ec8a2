import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepMaskedDefaults, maskCommand, sensitiveInputNames, SENSITIVE_MASK, unmaskCommandBody } from '../../command/sensitive.ts';
import { parseCommandValue } from '../../command/index.ts';
import { commandsFromText } from '../../resolution/index.ts';
import { redact, redactDeep, redactError, REDACTED } from './redact.ts';
import { XcsError } from '../../core/errors.ts';

test('a secret is hidden wherever it occurs, values built from it keep only the rest', () => {
  assert.equal(redact('Authorization: Bearer Zk9Qx7Wv', ['Zk9Qx7Wv']), `Authorization: Bearer ${REDACTED}`);
  assert.equal(redact('--key=Zk9Qx7Wv --other Zk9Qx7Wv', ['Zk9Qx7Wv']), `--key=${REDACTED} --other ${REDACTED}`);
  // The longer of two overlapping secrets is hidden whole.
  assert.equal(redact('abcdefgh', ['abcd', 'abcdefgh']), REDACTED);
});

test('a select-many secret is hidden element by element, as the command line writes it', () => {
  assert.equal(redact('tool alphaQ betaQZ', ['["alphaQ","betaQZ"]']), `tool ${REDACTED} ${REDACTED}`);
});

test('a short secret is hidden as a whole word only', () => {
  assert.equal(redact('pin=x7 and x7y', ['x7']), `pin=${REDACTED} and x7y`);
  assert.equal(redact('a "x7" b', ['x7']), `a "${REDACTED}" b`);
});

test('a document: every string and key, nested; nothing else changes', () => {
  const doc = { env: { TOKEN: 'Bearer Zk9Qx7Wv', ['Zk9Qx7Wv']: 'k' }, list: ['x Zk9Qx7Wv y', 3, null, true] };
  assert.deepEqual(redactDeep(doc, ['Zk9Qx7Wv']), { env: { TOKEN: `Bearer ${REDACTED}`, [REDACTED]: 'k' }, list: [`x ${REDACTED} y`, 3, null, true] });
  assert.equal(redactDeep(doc, []), doc, 'no secrets: the same document');
});

test('an error keeps its code and status, with the secret hidden', () => {
  const e = redactError(new XcsError('x.y', 'value Zk9Qx7Wv is bad', { status: 400, path: 'Zk9Qx7Wv', hint: 'not Zk9Qx7Wv' }), ['Zk9Qx7Wv']);
  assert.deepEqual([e.code, e.status, e.message, e.path, e.hint], ['x.y', 400, `value ${REDACTED} is bad`, REDACTED, `not ${REDACTED}`]);
});

const COMMAND = JSON.stringify({
  name: 'c', image: 'busybox:latest', 'command-line': 'x #KEY# #PLAIN#',
  inputs: [{ name: 'key', sensitive: true, 'default-value': 'Zk9Qx7Wv' }, { name: 'plain', 'default-value': 'visible' }, { name: 'fed' }],
  xnat: [{ name: 'w', contexts: ['xnat:projectData'], 'external-inputs': [
    { name: 'project', type: 'Project' },
    { name: 'given', type: 'string', 'default-value': 'Rm3Jh8Tp', 'provides-value-for-command-input': 'key', required: false },
  ] }],
});

test('sensitive inputs: marked ones, and wrapper inputs that feed one; their defaults read as the mask', () => {
  const [{ command, errors }] = commandsFromText(COMMAND);
  assert.deepEqual(errors, []);
  assert.deepEqual([...sensitiveInputNames(command)].sort(), ['given', 'key']);
  const shown = maskCommand(command);
  assert.equal(shown.inputs[0]['default-value'], SENSITIVE_MASK);
  assert.equal(shown.inputs[1]['default-value'], 'visible');
  assert.equal(shown.xnat[0]['external-inputs'][1]['default-value'], SENSITIVE_MASK);
  assert.ok(!JSON.stringify(shown).includes('Zk9Q') && !JSON.stringify(shown).includes('Rm3J'));
  // Posted back as read: the stored values stay; a new value replaces.
  assert.deepEqual(keepMaskedDefaults(shown, command), command);
  const changed = structuredClone(shown);
  changed.inputs[0]['default-value'] = 'NewVq2Lw';
  assert.equal(keepMaskedDefaults(changed, command).inputs[0]['default-value'], 'NewVq2Lw');
});

test('a masked select-one default posted back passes validation: the body is unmasked before it is checked', () => {
  const text = JSON.stringify({ name: 'c', image: 'busybox:latest', 'command-line': 'x #KEY#',
    inputs: [{ name: 'key', type: 'select-one', sensitive: true, 'select-values': ['Zk9Qx7Wv', 'Other123'], 'default-value': 'Zk9Qx7Wv' }] });
  const [{ command }] = commandsFromText(text);
  const shown = JSON.parse(JSON.stringify(maskCommand(command))) as unknown;
  assert.ok(!parseCommandValue(shown, { mode: 'rest' }).commands[0].command, 'the mask alone is not a select value');
  const back = parseCommandValue(unmaskCommandBody(shown, command), { mode: 'rest' }).commands[0].command;
  assert.equal(back?.inputs[0]['default-value'], 'Zk9Qx7Wv');
});
