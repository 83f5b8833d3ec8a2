import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isImageReference } from './image-reference.ts';

test('image references Docker accepts are accepted', () => {
  for (const ref of ['busybox', 'busybox:latest', 'xnat/dcm2niix:1.0.2', 'xcs-test/busybox:latest', 'registry.example.org:5000/team/tool:v1.2-rc_3',
    'localhost:5000/a/b', 'a__b/c-d--e:1', `tool@sha256:${'a'.repeat(64)}`, `sha256:${'0'.repeat(64)}`, 'abcdef012345', '[::1]:5000/x:y']) {
    assert.equal(isImageReference(ref), true, ref);
  }
});

test('malformed references are refused before they reach the engine', () => {
  for (const ref of ['', '../../etc/passwd', "1' OR '1'='1", 'a;touch x', '$(id)', '`id`', '<script>', '\u0000', '-1', 'Upper:x', 'a//b',
    'a:', 'a:tag:more', 'x'.repeat(600), ' busybox', 'busybox ', '{"a":1}', '[1,2]', '💥', 'a/../b']) {
    assert.equal(isImageReference(ref), false, JSON.stringify(ref));
  }
});
