/**
 * The Slurm partition, account and QoS a user chooses at launch (launch inputs `slurm-partition`, `slurm-account`,
 * `slurm-qos`), checked against what the site lets users choose (server setting `slurm-user-settable`). A value the
 * site does not allow is refused, naming the input and the allowed values: a run must never reach a partition or
 * account its launcher was not meant to use (the sbatch runs as the XCS service user, whatever the launcher).
 */
import type { SlurmChoice, SlurmUserSettable } from '../types.ts';
import type { Resolver } from './resolver.ts';

const WORDS = ['partition', 'account', 'qos'] as const;

export function slurmChoice(resolver: Resolver): SlurmChoice | null {
  const settable: SlurmUserSettable = resolver.options.slurmUserSettable ?? {};
  const choice: SlurmChoice = {};
  for (const word of WORDS) {
    const input = `slurm-${word}`;
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
