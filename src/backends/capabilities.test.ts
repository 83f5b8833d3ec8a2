import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireSupported, unsupportedRequests } from './capabilities.ts';
import type { BackendCapabilities, ContainerSpec } from './types.ts';

const all: BackendCapabilities = { separateStderr: true, oomDetection: true, hostNetwork: true, ulimits: true, gpus: true, logTimestamps: true };
const none: BackendCapabilities = { separateStderr: false, oomDetection: false, hostNetwork: false, ulimits: false, gpus: false, logTimestamps: false };
const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: 'c', image: 'i', commandLine: 'true', overrideEntrypoint: true, environment: {}, mounts: [], labels: {}, resources: {}, ...over,
});

test('a spec asking nothing special fits any backend', () => {
  assert.deepEqual(unsupportedRequests({ kind: 'slurm', capabilities: none }, spec({ network: 'none' })), []);
});

test('host network, ulimits and GPUs are refused by a backend that declares it cannot give them, all named at once', () => {
  const asking = spec({ network: 'host', resources: { ulimits: { nofile: '1024' }, gpus: 'all' } });
  assert.deepEqual(unsupportedRequests({ kind: 'docker', capabilities: all }, asking), []);
  assert.throws(() => requireSupported({ kind: 'slurm', capabilities: none }, asking), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'backend.unsupported');
    assert.match(e.message, /slurm backend cannot join the host network, cannot apply ulimits, cannot give GPUs/);
    return true;
  });
});
