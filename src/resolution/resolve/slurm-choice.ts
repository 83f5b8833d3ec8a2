/**
 * The Slurm partition, account and QoS a user chooses at launch (launch inputs `slurm-partition`, `slurm-account`,
 * `slurm-qos`), checked against what the site lets users choose (server setting `slurm-user-settable`). A value the
 * site does not allow is refused, naming the input and the allowed values: a run must never reach a partition or
 * account its launcher was not meant to use (the sbatch runs as the XCS service user, whatever the launcher).
 *
 * A command's own input (wrapper external or derived input, or command input) of one of these names keeps its
 * name: its value is the command's, never a placement choice, so a command written without Slurm in mind launches
 * the same on every backend. That word then cannot be chosen for the command's runs (the site's value applies).
 */
import type { Command, CommandWrapper } from '../../command/model.ts';
import type { SlurmChoice, SlurmUserSettable } from '../types.ts';
import type { Resolver } from './resolver.ts';

export const SLURM_CHOICE_WORDS = ['partition', 'account', 'qos'] as const;
export type SlurmChoiceWord = (typeof SLURM_CHOICE_WORDS)[number];

/** The launch input that chooses `word`. */
export function slurmChoiceInput<W extends SlurmChoiceWord>(word: W): `slurm-${W}` {
  return `slurm-${word}`;
}

/** The placement words whose launch input is free in this wrapper (no input of the command has its name). */
export function slurmChoiceWords(command: Pick<Command, 'inputs'>, wrapper: Pick<CommandWrapper, 'external-inputs' | 'derived-inputs'>):
  SlurmChoiceWord[] {
  const taken = new Set([...command.inputs, ...wrapper['external-inputs'], ...wrapper['derived-inputs']].map((i) => i.name));
  return SLURM_CHOICE_WORDS.filter((word) => !taken.has(slurmChoiceInput(word)));
}

export function slurmChoice(resolver: Resolver): SlurmChoice | null {
  const settable: SlurmUserSettable = resolver.options.slurmUserSettable ?? {};
  const choice: SlurmChoice = {};
  for (const word of slurmChoiceWords(resolver.command, resolver.wrapper)) {
    const input = slurmChoiceInput(word);
    const raw = resolver.inputs[input];
    if (raw === undefined || raw.trim() === '') continue;
    const value = raw.trim();
    if (resolver.options.backend !== 'slurm') {
      resolver.fail('resolution.slurm-placement', `The launch input "${input}" applies to the slurm backend only`, input);
    }
    const allowed = settable[word] ?? [];
    if (allowed.length === 0) {
      resolver.fail('resolution.slurm-placement', `The site does not let users choose the Slurm ${word}: leave out "${input}"`, input);
    }
    if (!allowed.includes(value)) {
      resolver.fail('resolution.slurm-placement',
        `"${input}" must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; "${value.slice(0, 64)}" is not allowed`, input);
    }
    choice[word] = value;
  }
  return Object.keys(choice).length > 0 ? choice : null;
}
