import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handlerName, orderOutputs } from './order.ts';
import type { ResolvedOutput } from './types.ts';

const out = (handler: string, handledBy: string): ResolvedOutput => ({
  name: `o-${handler}:${handler}`, 'from-output-handler': handler, mount: 'out', 'handled-by': handledBy,
});

test('a handler goes after the handler it is a child of, whatever the input order', () => {
  const child = out('files', 'assessor');
  const grandchild = out('extra', 'files');
  const parent = out('assessor', 'session');
  const other = out('log', 'session');
  const { ordered, cyclic } = orderOutputs([grandchild, child, other, parent], new Set(['session']));
  assert.deepEqual(ordered.map(handlerName), ['assessor', 'files', 'extra', 'log']);
  assert.deepEqual(cyclic, []);
});

test('handled-by naming a wrapper input wins over a handler of the same name, as in XNAT', () => {
  const a = out('session', 'session');
  const { ordered, cyclic } = orderOutputs([a], new Set(['session']));
  assert.deepEqual(ordered, [a]);
  assert.deepEqual(cyclic, []);
});

test('loops and everything hanging below them are reported, the rest is ordered', () => {
  const a = out('a', 'b');
  const b = out('b', 'a');
  const below = out('c', 'a');
  const fine = out('d', 'session');
  const { ordered, cyclic } = orderOutputs([below, a, b, fine], new Set(['session']));
  assert.deepEqual(ordered.map(handlerName), ['d']);
  assert.deepEqual(cyclic.map(handlerName).sort(), ['a', 'b', 'c']);
});

test('the handler name falls back to the part after the colon', () => {
  assert.equal(handlerName({ name: 'nifti:nifti-resource', mount: 'm', 'handled-by': 's' }), 'nifti-resource');
});
