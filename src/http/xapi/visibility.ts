/**
 * Command visibility for the routes (the rule and its refusal: `runtime/catalog/visibility.ts`). A command a user may not
 * see is answered exactly like one that does not exist (404).
 */
import type { EnabledProjects } from '../../runtime/index.ts';
import type { RegistryContext } from './context.ts';

export { commandVisible, isPrivate, notVisible, type EnabledProjects } from '../../runtime/index.ts';

/** Projects whose flag enables the wrapper, read from the engine's registry. */
export function enabledProjectsOf(ctx: RegistryContext): EnabledProjects {
  return (wrapperId) => ctx.commands.enabledProjects(wrapperId);
}
