/** Mounts: a build directory, or the files of the input that provides them (through a setup command if any). */
import type { ResolvedCommand, ResolvedMount } from '../types.ts';
import { MOUNTABLE_TYPES } from '../xnat-model.ts';
import { resolveAuxiliary } from './auxiliary.ts';
import { blank, text } from './model.ts';
import type { Resolver } from './resolver.ts';

export async function resolveMounts(resolver: Resolver, setups: ResolvedCommand[], env: Record<string, string>): Promise<ResolvedMount[]> {
  const out: ResolvedMount[] = [];
  for (const m of resolver.command.mounts) {
    const containerPath = resolver.tpl(m.path) ?? '';
    const claim = resolver.mountClaims.get(m.name);
    if (!claim) {
      const host = resolver.buildDir(`mount ${m.name}`);
      out.push({ name: m.name, writable: true, 'container-path': containerPath, 'xnat-host-path': host, 'container-host-path': resolver.translate(host), 'via-setup-command': null, 'mount-pvc-name': null, 'copy-from': null });
      continue;
    }
    const n = claim.node;
    if (!MOUNTABLE_TYPES.includes(n.type)) resolver.fail('resolution.mount.type', `I don't know how to provide files to a mount from an input of type "${n.type}".`, n.name);
    if (claim.several) resolver.fail('resolution.mount.multiple', `Input "${n.name}" has multiple resolved values. We can only use inputs with a single resolved value.`, n.name);
    if (!claim.object) resolver.fail('resolution.mount.no-object', `Input "${n.name}"'s XnatModelObject value is null`, n.name);
    const obj = claim.object;
    const root = obj.type === 'File' ? text(obj.path) : text(obj.directory);
    if (blank(root)) resolver.fail('resolution.mount.no-path', `Mount "${m.name}" should have a root path but does not.`, m.name);
    const setupRef = n.wrapperInput?.['via-setup-command'] ?? null;
    let host = root;
    let copyFrom: string | null = null;
    if (setupRef) {
      const setup = await resolveAuxiliary(resolver, setupRef, 'docker-setup', root, m.name, env);
      setups.push(setup);
      host = (setup.mounts.find((x) => x.name === 'output') as ResolvedMount)['xnat-host-path'];
    } else if (m.writable) {
      const dir = resolver.buildDir(`mount ${m.name}`);
      host = obj.type === 'File' ? `${dir}/${text(obj.name) ?? 'file'}` : dir;
      copyFrom = root;
    }
    out.push({ name: m.name, writable: m.writable, 'container-path': containerPath, 'xnat-host-path': host, 'container-host-path': resolver.translate(host), 'via-setup-command': setupRef, 'mount-pvc-name': null, 'copy-from': copyFrom });
  }
  return out;
}
