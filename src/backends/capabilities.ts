/**
 * What a container spec asks that a backend's declared capabilities cannot give. The run engine checks a spec
 * against the backend it has before creating anything, so a backend without (say) GPUs refuses clearly instead of
 * silently running the container without them; no caller needs to know which kind of backend it talks to.
 */
import { XcsError } from '../core/errors.ts';
import { BackendErrorCode, type ContainerBackend, type ContainerSpec } from './types.ts';

/** The spec's requests the backend cannot honour, each as `{field, why}`; empty when all can be. */
export function unsupportedRequests(backend: Pick<ContainerBackend, 'kind' | 'capabilities'>, spec: ContainerSpec):
  Array<{ field: string; why: string }> {
  const c = backend.capabilities;
  const out: Array<{ field: string; why: string }> = [];
  if (spec.network === 'host' && !c.hostNetwork) out.push({ field: 'network', why: 'cannot join the host network' });
  if (spec.resources.ulimits !== undefined && Object.keys(spec.resources.ulimits).length > 0 && !c.ulimits) {
    out.push({ field: 'ulimits', why: 'cannot apply ulimits' });
  }
  if (spec.resources.gpus !== undefined && spec.resources.gpus !== '' && !c.gpus) out.push({ field: 'gpus', why: 'cannot give GPUs' });
  return out;
}

/** Throws `backend.unsupported` naming every request of `spec` the backend cannot honour. */
export function requireSupported(backend: Pick<ContainerBackend, 'kind' | 'capabilities'>, spec: ContainerSpec): void {
  const missing = unsupportedRequests(backend, spec);
  if (missing.length === 0) return;
  throw new XcsError(BackendErrorCode.unsupported,
    `The ${backend.kind} backend ${missing.map((m) => m.why).join(', ')} (asked by the command's ${missing.map((m) => m.field).join(', ')})`, {
      path: spec.name ?? spec.image,
      hint: 'remove the request from the command, or run it on a container server whose backend supports it',
    });
}
