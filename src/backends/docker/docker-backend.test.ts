import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateApiVersion, parseDockerHost } from './docker-backend.ts';

test('reads XNAT-style host settings', () => {
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost(undefined), { socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost('tcp://10.0.0.5:2376'), { host: '10.0.0.5', port: 2376, protocol: 'http' });
  assert.deepEqual(parseDockerHost('tcp://docker'), { host: 'docker', port: 2375, protocol: 'http' });
  assert.throws(() => parseDockerHost('ftp://x'), /neither unix/);
});

test('pins our API version when the engine offers it, else the nearest it does', () => {
  assert.equal(negotiateApiVersion({ ApiVersion: '1.41', MinAPIVersion: '1.12' }), '1.41');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.47', MinAPIVersion: '1.24' }), '1.41');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.52', MinAPIVersion: '1.44' }), '1.44');
  assert.equal(negotiateApiVersion({ ApiVersion: '1.40' }), '1.40');
  assert.throws(() => negotiateApiVersion({ ApiVersion: '1.39' }), /needs 1\.40/);
});
