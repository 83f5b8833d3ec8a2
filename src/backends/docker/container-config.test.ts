import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isXcsError } from '../../core/errors.ts';
import type { ContainerSpec } from '../types.ts';
import { deviceRequestsOf, toCreateOptions, ulimitsOf } from './container-config.ts';

const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: 'xcs-run-1',
  image: 'xnat/dcm2niix:latest',
  commandLine: 'dcm2niix -o /output "/in put"',
  overrideEntrypoint: false,
  environment: { XNAT_HOST: 'http://h', XNAT_PASS: 'a=b' },
  mounts: [{ hostPath: '/data/in', containerPath: '/input', writable: false }],
  labels: { 'org.xcs.run-id': '7' },
  resources: {},
  ...over,
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isXcsError(e));
    assert.ok(e.path, 'the error names where');
    return e.code;
  }
  assert.fail('expected a throw');
}

test('keeps the entrypoint and splits the line; overriding clears it and uses /bin/sh -c', () => {
  const kept = toCreateOptions(spec());
  assert.deepEqual(kept.Cmd, ['dcm2niix', '-o', '/output', '/in put']);
  assert.equal('Entrypoint' in kept, false);
  const over = toCreateOptions(spec({ overrideEntrypoint: true }));
  assert.deepEqual(over.Cmd, ['/bin/sh', '-c', 'dcm2niix -o /output "/in put"']);
  assert.deepEqual(over.Entrypoint, ['']);
});

test('locks the container down and labels it as ours', () => {
  const o = toCreateOptions(spec({ labels: { 'org.xcs.managed': 'false', a: 'b' } }));
  assert.equal(o.HostConfig?.Privileged, false);
  assert.deepEqual(o.HostConfig?.SecurityOpt, ['no-new-privileges']);
  assert.equal(o.HostConfig?.NetworkMode, 'none');
  assert.deepEqual(o.Labels, { a: 'b', 'org.xcs.managed': 'true' });
  assert.deepEqual(o.Env, ['XNAT_HOST=http://h', 'XNAT_PASS=a=b']);
  assert.deepEqual(o.HostConfig?.Mounts, [{ Type: 'bind', Source: '/data/in', Target: '/input', ReadOnly: true }]);
  assert.equal(toCreateOptions(spec({ network: 'host' })).HostConfig?.NetworkMode, 'host');
});

test('maps resources in XNAT units to Docker units', () => {
  const h = toCreateOptions(
    spec({
      resources: { reserveMemoryMiB: 100, limitMemoryMiB: 200, limitCpu: 1.5, shmSizeBytes: 1024, runtime: 'nvidia', ipcMode: 'host', gpus: 'all' },
    }),
  ).HostConfig;
  assert.equal(h?.MemoryReservation, 100 * 1048576);
  assert.equal(h?.Memory, 200 * 1048576);
  assert.equal(h?.MemorySwap, 200 * 1048576);
  assert.equal(h?.NanoCpus, 1_500_000_000);
  assert.equal(h?.ShmSize, 1024);
  assert.equal(h?.Runtime, 'nvidia');
  assert.equal(h?.IpcMode, 'host');
  assert.deepEqual(h?.DeviceRequests, [{ Driver: '', Count: -1, Capabilities: [['gpu']], Options: {} }]);
  const none = toCreateOptions(spec()).HostConfig;
  for (const k of ['Memory', 'MemoryReservation', 'NanoCpus', 'ShmSize', 'Runtime', 'IpcMode', 'DeviceRequests', 'Ulimits']) {
    assert.equal(k in (none ?? {}), false, k);
  }
});

test('GPUs: all, a count, or device ids', () => {
  assert.equal(deviceRequestsOf('2')?.[0].Count, 2);
  assert.deepEqual(deviceRequestsOf('device=0,2')?.[0].DeviceIDs, ['0', '2']);
  assert.deepEqual(deviceRequestsOf('GPU-abc')?.[0].DeviceIDs, ['GPU-abc']);
  assert.equal(deviceRequestsOf(''), undefined);
});

test('ulimits: soft:hard, one value for both, unlimited; bad ones are named', () => {
  assert.deepEqual(ulimitsOf({ nofile: '10:20', core: '0', memlock: '-1:unlimited' }), [
    { Name: 'nofile', Soft: 10, Hard: 20 },
    { Name: 'core', Soft: 0, Hard: 0 },
    { Name: 'memlock', Soft: -1, Hard: -1 },
  ]);
  assert.equal(code(() => toCreateOptions(spec({ resources: { ulimits: { nofile: 'lots' } } }))), 'backend.invalid-spec');
});

test('ports: bindings per container port, XNAT messages for blanks', () => {
  const o = toCreateOptions(spec({ ports: { '8080': '18080', '53/udp': '5353' } }));
  assert.deepEqual(o.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.deepEqual(o.HostConfig?.PortBindings, { '8080/tcp': [{ HostPort: '18080' }], '53/udp': [{ HostPort: '5353' }] });
  assert.throws(() => toCreateOptions(spec({ ports: { '80': ' ' } })), /Host port is blank/);
  assert.throws(() => toCreateOptions(spec({ ports: { '': '80' } })), /Container port is blank/);
});

test('refuses the engine socket, /run, /var/run, the root and relative paths', () => {
  for (const hostPath of ['/var/run/docker.sock', '/run', '/run/user/0', '/var/run/../run/x', '/', '/srv/other/docker.sock']) {
    assert.equal(code(() => toCreateOptions(spec({ mounts: [{ hostPath, containerPath: '/x', writable: false }] }))), 'backend.mount-forbidden', hostPath);
  }
  assert.equal(code(() => toCreateOptions(spec({ mounts: [{ hostPath: 'data', containerPath: '/x', writable: false }] }))), 'backend.invalid-spec');
  assert.equal(code(() => toCreateOptions(spec({ mounts: [{ hostPath: '/data', containerPath: 'x', writable: false }] }))), 'backend.invalid-spec');
  // A path that merely starts with "run" is fine.
  assert.doesNotThrow(() => toCreateOptions(spec({ mounts: [{ hostPath: '/runs/1', containerPath: '/x', writable: true }] })));
});

test('rejects negative resources and bad environment names, saying where', () => {
  assert.equal(code(() => toCreateOptions(spec({ resources: { limitMemoryMiB: -1 } }))), 'backend.invalid-spec');
  assert.equal(code(() => toCreateOptions(spec({ environment: { 'A=B': 'x' } }))), 'backend.invalid-spec');
  assert.equal(code(() => toCreateOptions(spec({ image: ' ' }))), 'backend.invalid-spec');
});

test('every capability dropped and a process limit by default; the spec gives some back, lowers the limit, or makes / read-only', () => {
  const d = toCreateOptions(spec()).HostConfig!;
  assert.deepEqual(d.CapDrop, ['ALL']);
  assert.equal('CapAdd' in d, false);
  assert.equal(d.PidsLimit, 4096);
  assert.equal('ReadonlyRootfs' in d, false);
  const h = toCreateOptions(spec({ security: { capAdd: ['chown', 'CAP_NET_BIND_SERVICE'], pidsLimit: 50, readOnlyRootfs: true } })).HostConfig!;
  assert.deepEqual(h.CapAdd, ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
  assert.equal(h.PidsLimit, 50);
  assert.equal(h.ReadonlyRootfs, true);
  assert.ok(h.Tmpfs && '/tmp' in h.Tmpfs);
  assert.equal(code(() => toCreateOptions(spec({ security: { capAdd: ['ALL'] } }))), 'backend.invalid-spec');
  assert.equal(code(() => toCreateOptions(spec({ security: { pidsLimit: 0 } }))), 'backend.invalid-spec');
});
