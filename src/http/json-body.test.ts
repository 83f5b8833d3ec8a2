import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonDepth, MAX_JSON_DEPTH, parseJsonBody } from './json-body.ts';
import { targetsOf } from './xapi/bulk-launch.ts';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

test('nesting is counted outside strings only, escapes included, and refused past the limit', () => {
  const at = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(code(() => checkJsonDepth(at(MAX_JSON_DEPTH))), undefined);
  assert.equal(code(() => checkJsonDepth(at(MAX_JSON_DEPTH + 1))), 'http.json.too-deep');
  assert.equal(code(() => checkJsonDepth(`{"a": "\\"${'{'.repeat(1000)}"}`)), undefined, 'an escaped quote does not end the string');
  assert.equal(code(() => parseJsonBody('['.repeat(5_000_000))), 'http.json.too-deep');
  assert.deepEqual(parseJsonBody('{"a": [1, {"b": "]]]"}]}'), { a: [1, { b: ']]]' }] });
});

test('bulk launch targets given as a JSON string are depth-checked before JSON.parse', () => {
  assert.equal(code(() => targetsOf({ session: '['.repeat(5_000_000) }, 'session')), 'http.json.too-deep');
  assert.deepEqual(targetsOf({ session: '["/archive/experiments/E1"]' }, 'session'), ['/archive/experiments/E1']);
});
