/** Outputs: each command output with its wrapper handlers, checked against the object that will receive it. */
import type { OutputHandler } from '../../command/model.ts';
import type { ResolvedOutput } from '../types.ts';
import { isXnatType } from '../xnat-model.ts';
import type { Resolver } from './resolver.ts';

export async function resolveOutputs(resolver: Resolver): Promise<ResolvedOutput[]> {
  const handlers = resolver.wrapper['output-handlers'];
  const byHandler = new Map<string, ResolvedOutput>();
  for (const h of handlers) {
    if (!resolver.command.outputs.some((o) => o.name === h['accepts-command-output'])) {
      resolver.fail('resolution.output.unhandled', `Command wrapper output handler "${h.name}" has no resolved output to handle.`, h.name);
    }
  }
  for (const o of resolver.command.outputs) {
    const mine = handlers.filter((h) => h['accepts-command-output'] === o.name);
    if (mine.length === 0) resolver.fail('resolution.output.no-handler', `No wrapper output handler was configured to handle command output "${o.name}".`, o.name);
    for (const h of mine) {
      const problem = await checkHandler(resolver, o.name, h, handlers);
      if (problem) {
        if (o.required) resolver.fail(problem.code, problem.message, h.name);
        continue;
      }
      byHandler.set(h.name, {
        name: `${o.name}:${h.name}`,
        'from-command-output': o.name,
        'from-output-handler': h.name,
        type: h.type,
        'xsi-type': h['xsi-type'],
        required: o.required,
        mount: o.mount,
        path: resolver.tpl(o.path),
        glob: o.glob,
        label: resolver.tpl(h.label),
        format: resolver.tpl(h.format),
        description: resolver.tpl(h.description),
        content: resolver.tpl(h.content),
        tags: h.tags.map((t) => resolver.tpl(t) ?? ''),
        'handled-by': h['as-a-child-of'],
        'via-wrapup-command': h['via-wrapup-command'],
      });
    }
  }
  return handlers.flatMap((h) => {
    const r = byHandler.get(h.name);
    return r ? [r] : [];
  });
}

export async function checkHandler(resolver: Resolver, output: string, h: OutputHandler, handlers: OutputHandler[]): Promise<{ code: string; message: string } | null> {
  const target = h['as-a-child-of'];
  const wv = resolver.wrapperValues.get(target);
  if (wv) {
    let obj = wv.object;
    if (!obj && wv.value && isXnatType(wv.node.type) && wv.value.startsWith('/')) obj = await resolver.source.getByUri(wv.value);
    if (!obj) {
      return { code: 'resolution.output.no-object', message: `Cannot resolve output "${output}". Input "${target}" is supposed to handle the output, but it does not have an XNAT object value.` };
    }
    if (!(await resolver.src(obj).canEdit(resolver.user, obj))) {
      return { code: 'resolution.output.forbidden', message: `User "${resolver.user ?? ''}" does not have sufficient permissions to create the output ${h.type}.` };
    }
    return null;
  }
  const other = handlers.find((x) => x.name === target);
  if (!other) {
    return {
      code: 'resolution.output.target',
      message: `Cannot resolve output "${output}". The handler says the output is supposed to be handled by "${target}", but either that isn't an input, or an output, or maybe the input does not have a uniquely resolved value.`,
    };
  }
  if (h.type !== 'Resource' || (other.type !== 'Assessor' && other.type !== 'Scan')) {
    return {
      code: 'resolution.output.target-type',
      message: `Cannot resolve handler "${h.name}". Handler "${h.name}" has type "${h.type}"; target handler "${target}" has type "${other.type}". Handler "${h.name}" must be type Resource, target handler "${target}" needs to be type Assessor OR Scan.`,
    };
  }
  return null;
}
