/** The conformance suite's own rules (the suite itself runs in each backend's test file, e.g. `test/backend-docker.test.ts`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFORMANCE_TESTS, runBackendConformance } from './backend.case.ts';

const images = { busybox: 'x', entrypoint: 'y', entrypointMarker: 'z' };

test('a skip naming a test the suite does not have fails at once', () => {
  assert.throws(() => runBackendConformance({
    name: 'stale', images, newBackend: () => Promise.reject(new Error('never connected')),
    skip: [{ reason: 'renamed since', tests: ['runs containers very fast'] }],
  }), /skip names an unknown test "runs containers very fast"/);
});

test('the contract cases added with the image, logs-since, abort and user rules are part of the suite', () => {
  for (const t of ['inspects an image: id, tags, labels, entrypoint and working directory', 'reads logs since a time',
    'stops waiting when the wait is aborted, leaving the container running', 'runs as the user asked for']) {
    assert.ok((CONFORMANCE_TESTS as readonly string[]).includes(t), t);
  }
});
