/**
 * The hint of a failed run whose tool tried to call XNAT back without a network: on a fresh install containers get
 * network `none`, and the tool's "connection refused" says nothing about the setting that fixes it.
 */
import { readFile } from 'node:fs/promises';
import { CALLBACK_NETWORK_HINT } from '../../command/calls-back.ts';
import { networkOf } from '../settings/isolation.ts';
import { runSettingsOf, type EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';
import { savedLogPath } from '../follow/logs.ts';

/** What Python, curl, wget and busybox print when nothing listens or there is no route. */
const UNREACHABLE = /connection refused|can't connect|could not connect|couldn't connect|failed to establish a new connection|network is unreachable|no route to host/i;

/** A hint naming the network setting, or undefined when the run had a network or its logs show no refused connection. */
export async function callbackFailureHint(res: EngineResources, run: RunRecord): Promise<string | undefined> {
  const settings = runSettingsOf(res, run);
  if (networkOf(run.spec, settings) !== 'none') return undefined;
  const logs = await Promise.all((['stderr', 'stdout'] as const).map((s) => readFile(savedLogPath(res, run.id, s), 'utf8').catch(() => '')));
  if (!logs.some((text) => UNREACHABLE.test(text))) return undefined;
  return `The tool could not connect (to XNAT_HOST ${settings.xnatHost}?) and its container had network "none": if it calls XNAT back, ${CALLBACK_NETWORK_HINT}. Then relaunch.`;
}
