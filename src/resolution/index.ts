/**
 * Public API of command resolution. See resolve/ (the algorithm), source.ts (how the archive is
 * read), xnat-model.ts (the objects matchers see) and types.ts (the resolved command).
 */
export { resolveCommand, resolveWithExplanation, preResolve, ResolutionError } from './resolve/index.ts';
export type { ResolveArgs, PreResolvedInput } from './resolve/index.ts';
export { slurmChoiceInput, slurmChoiceWords, SLURM_CHOICE_WORDS, type SlurmChoiceWord } from './resolve/slurm-choice.ts';
export type { XnatObjectSource } from './source.ts';
export { MemoryObjectSource, uriKey } from './memory-source.ts';
export * from './xnat-model.ts';
export type * from './types.ts';
export { parseImageCommandRef, type ImageCommandRef } from './image-ref.ts';
export { ILLEGAL_STRINGS } from './format.ts';
export { translateHostPath, type PathTranslation } from './path-translation.ts';
export { commandsFromText } from './load-command.ts';
export { explanationText } from './explain.ts';
