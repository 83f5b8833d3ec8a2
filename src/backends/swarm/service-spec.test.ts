import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isXcsError } from '../../core/errors.ts';
import type { ContainerSpec } from '../types.ts';
import { checkConstraint, genericResourcesOf, toServiceSpec } from './service-spec.ts';

const base = (over: Partial<ContainerSpec> = {}): ContainerSpec & { name: string } => ({
  name: 'xcs-run-1', image: 'xnat/tool:1', commandLine: 'run "a b" c', overrideEntrypoint: false, environment: { XNAT_HOST: 'http://127.0.0.1' },
  mounts: [], labels: { 'org.xcs.run-id': '1', XNAT_PROJECT: 'P1' }, resources: {}, ...over,
});
const ctx = { imageId: 'sha256:abc', constraints: [] };

function refused(fn: () => unknown, code: string, path: RegExp): void {
  assert.throws(fn, (e: unknown) => isXcsError(e) && e.code === code && path.test(e.path ?? ''));
}

test('a service as XNAT makes it: 0 replicas, restart none, image by id, args split, labels on service and container', () => {
  const s = toServiceSpec(base(), ctx);
  assert.equal(s.Name, 'xcs-run-1');
  assert.deepEqual(s.Mode, { Replicated: { Replicas: 0 } });
  const t = s.TaskTemplate as { ContainerSpec: Record<string, unknown>; RestartPolicy: unknown; Placement: unknown; Networks?: unknown };
  assert.deepEqual(t.RestartPolicy, { Condition: 'none', MaxAttempts: 0 });
  assert.equal(t.ContainerSpec.Image, 'sha256:abc');
  assert.deepEqual(t.ContainerSpec.Args, ['run', 'a b', 'c']);
  assert.equal(t.ContainerSpec.Command, undefined);
  assert.deepEqual(t.ContainerSpec.Env, ['XNAT_HOST=http://127.0.0.1']);
  assert.deepEqual(t.ContainerSpec.CapabilityDrop, ['ALL']);
  // The run's labels reach the container; XCS's bookkeeping stays on the service (the Docker backend's reconciler never sees tasks).
  assert.deepEqual(t.ContainerSpec.Labels, { XNAT_PROJECT: 'P1' });
  assert.equal(s.Labels?.['org.xcs.managed'], 'true');
  assert.equal(s.Labels?.['org.xcs.run-id'], '1');
  assert.equal(s.Labels?.['org.xcs.image'], 'xnat/tool:1');
  assert.equal(t.Networks, undefined, 'no network unless asked');
  assert.deepEqual(t.Placement, {});
});

test('override-entrypoint runs the line with /bin/sh -c as the command', () => {
  const t = toServiceSpec(base({ overrideEntrypoint: true, commandLine: 'echo $X && ls' }), ctx).TaskTemplate as { ContainerSpec: Record<string, unknown> };
  assert.deepEqual(t.ContainerSpec.Command, ['/bin/sh', '-c', 'echo $X && ls']);
  assert.equal(t.ContainerSpec.Args, undefined);
});

test('mounts, shm tmpfs, user, working directory, resources, constraints, ports and host network', () => {
  const s = toServiceSpec(base({
    mounts: [{ hostPath: '/data/in', containerPath: '/input', writable: false }, { hostPath: '/data/out', containerPath: '/output', writable: true }],
    resources: { reserveMemoryMiB: 100, limitMemoryMiB: 200, limitCpu: 1.5, shmSizeBytes: 64 * 1024 * 1024, genericResources: { gpu: '2', fpga: 'uuid-1' } },
    user: '1000:1000', workingDirectory: '/work', network: 'host', ports: { '8080': '18080' },
  }), { imageId: 'sha256:abc', constraints: ['node.labels.xcs-node==worker-2', 'node.role != manager'] });
  const t = s.TaskTemplate as { ContainerSpec: Record<string, unknown>; Resources: Record<string, Record<string, unknown>>; Placement: unknown; Networks: unknown };
  assert.deepEqual(t.ContainerSpec.Mounts, [
    { Type: 'bind', Source: '/data/in', Target: '/input', ReadOnly: true },
    { Type: 'bind', Source: '/data/out', Target: '/output', ReadOnly: false },
    { Type: 'tmpfs', Source: '', Target: '/dev/shm', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1777 } },
  ]);
  assert.equal(t.ContainerSpec.User, '1000:1000');
  assert.equal(t.ContainerSpec.Dir, '/work');
  assert.equal(t.Resources.Reservations.MemoryBytes, 100 * 1024 * 1024);
  assert.equal(t.Resources.Limits.MemoryBytes, 200 * 1024 * 1024);
  assert.equal(t.Resources.Limits.NanoCPUs, 1.5e9);
  assert.equal(t.Resources.Limits.Pids, 4096);
  assert.deepEqual(t.Resources.Reservations.GenericResources, [
    { DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }, { NamedResourceSpec: { Kind: 'fpga', Value: 'uuid-1' } },
  ]);
  assert.deepEqual(t.Placement, { Constraints: ['node.labels.xcs-node==worker-2', 'node.role != manager'] });
  assert.deepEqual(t.Networks, [{ Target: 'host' }]);
  assert.deepEqual(s.EndpointSpec, { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 18080, PublishMode: 'host' }] });
});

test('what a service cannot carry is refused with the path, never dropped', () => {
  refused(() => toServiceSpec(base({ resources: { gpus: 'all' } }), ctx), 'backend.invalid-spec', /gpus/);
  refused(() => toServiceSpec(base({ resources: { runtime: 'nvidia' } }), ctx), 'backend.invalid-spec', /runtime/);
  refused(() => toServiceSpec(base({ resources: { ipcMode: 'host' } }), ctx), 'backend.invalid-spec', /ipcMode/);
  refused(() => toServiceSpec(base({ mounts: [{ hostPath: '/var/run/docker.sock', containerPath: '/s', writable: false }] }), ctx), 'backend.mount-forbidden', /mounts\/0/);
  refused(() => toServiceSpec(base({ ports: { '80': '' } }), ctx), 'backend.invalid-spec', /ports/);
  refused(() => toServiceSpec(base(), { imageId: 'sha256:abc', constraints: ['node.labels.x'] }), 'backend.invalid-spec', /placement\/constraints\/0/);
  refused(() => toServiceSpec(base({ environment: { 'A=B': 'x' } }), ctx), 'backend.invalid-spec', /environment/);
});

test('constraints and generic resources', () => {
  assert.equal(checkConstraint(' node.labels.a==b ', '/c'), 'node.labels.a==b');
  assert.throws(() => checkConstraint('==b', '/c'));
  assert.equal(genericResourcesOf(undefined), undefined);
  assert.equal(genericResourcesOf({}), undefined);
});
