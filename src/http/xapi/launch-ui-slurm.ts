/**
 * The Slurm placement choices of the launch UI (an XCS addition): on a site whose backend is `slurm` and which lets
 * users choose the partition, account or QoS (server key `slurm-user-settable`), each such word becomes one more
 * `select-one` input of the launch UI — `slurm-partition`, `slurm-account`, `slurm-qos`, the names the launch
 * reads — listing the allowed values with the one a launch would get first. XNAT's UI and the console render and
 * send it like any input; resolution checks the value again at launch (`resolution/resolve/slurm-choice.ts`).
 *
 * The value first in the list is the one the launch would take: the launch value given in the query when it is
 * allowed, else the site's own `slurm-partition` (…) when it is among the allowed ones, else an empty value that
 * stands for "no choice" (the site's value, or the cluster's default when the site has none). A word the wrapper
 * uses as an input name of its own is not offered (the command keeps the name).
 */
import type { Command, CommandWrapper } from '../../command/model.ts';
import { slurmChoiceInput, slurmChoiceWords, type SlurmChoiceWord } from '../../resolution/index.ts';
import type { LaunchUiInputConfig, LaunchUiValue, LaunchUiValuesNode } from './launch-ui-model.ts';
import type { SlurmServerKeys } from './slurm-settings.ts';

export interface PlacementInputs {
  config: LaunchUiInputConfig[];
  values: LaunchUiValuesNode[];
}

const WHAT: Record<SlurmChoiceWord, { label: string; noun: string }> = {
  partition: { label: 'Slurm partition', noun: 'partition' },
  account: { label: 'Slurm account', noun: 'account' },
  qos: { label: 'Slurm QoS', noun: 'quality of service' },
};

/** The Slurm choices a launch of `wrapper` offers under `server`; none unless the backend is slurm. */
export function slurmPlacementInputs(server: Pick<SlurmServerKeys, 'slurm-user-settable' | 'slurm-partition' | 'slurm-account' | 'slurm-qos'>
  & { backend: string }, command: Pick<Command, 'inputs'>, wrapper: Pick<CommandWrapper, 'external-inputs' | 'derived-inputs'>,
launchValues: Record<string, string>): PlacementInputs {
  const out: PlacementInputs = { config: [], values: [] };
  if (server.backend !== 'slurm') return out;
  for (const word of slurmChoiceWords(command, wrapper)) {
    const allowed = server['slurm-user-settable'][word] ?? [];
    if (allowed.length === 0) continue;
    const name = slurmChoiceInput(word);
    const siteValue = server[name];
    const given = launchValues[name]?.trim() ?? '';
    const first = allowed.includes(given) ? given : siteValue !== null && allowed.includes(siteValue) ? siteValue : '';
    const option = (value: string): LaunchUiValue => ({ value, label: value === siteValue ? `${value} (site default)` : value, children: [] });
    const options = first === '' ? [{ value: '', label: siteValue === null ? 'Cluster default' : `${siteValue} (site default)`, children: [] }] : [option(first)];
    for (const v of allowed) if (v !== first) options.push(option(v));
    out.config.push({
      name, label: WHAT[word].label,
      description: `The Slurm ${WHAT[word].noun} this run's jobs are submitted to, among those the site lets users choose`,
      advanced: true, required: false, 'user-settable': true, multiple: false, 'input-type': 'select-one',
      'derived-value-info': null, 'derived-value-message': null, 'select-values': [...allowed], sensitive: false, children: [],
      placement: 'slurm',
    });
    out.values.push({ name, values: options });
  }
  return out;
}
