/**
 * The run engine follows the server settings: its limits the queue settings (`/xapi/jms_queues`), the site settings
 * of new runs the server settings (`POST /xapi/docker/server`), applied at start-up and on every change.
 */
import type { RunEngine } from '../runtime/index.ts';
import type { DockerServerSettings, QueueSettings, SettingsStore } from '../http/xapi/settings.ts';
import { siteSettingsOf } from '../http/xapi/site-settings-keys.ts';
import { messageOf } from '../core/errors.ts';
import type { BackendKind } from '../backends/types.ts';
import type { SelectedBackend } from './selected-backend.ts';
import { backendOptionsOf } from '../http/xapi/server-backend.ts';

/**
 * Max staging = runs staging, created or running at once; max finalizing = finalizations at once. Limits given in the
 * environment (`XCS_MAX_RUNNING`, `XCS_MAX_FINALIZING`) win at start-up; a change made through the API applies live.
 */
export function followQueueSettings(engine: RunEngine, settings: SettingsStore): () => void {
  let last = settings.queues();
  engine.setLimits({
    maxRunning: process.env.XCS_MAX_RUNNING ? undefined : last.concurrencyMaxStagingQueue,
    maxFinalizing: process.env.XCS_MAX_FINALIZING ? undefined : last.concurrencyMaxFinalizingQueue,
  });
  // onChange also fires for server settings: apply only what changed, so environment limits stay until then.
  return settings.onChange(({ queues }) => {
    engine.setLimits({
      maxRunning: queues.concurrencyMaxStagingQueue !== last.concurrencyMaxStagingQueue ? queues.concurrencyMaxStagingQueue : undefined,
      maxFinalizing: queues.concurrencyMaxFinalizingQueue !== last.concurrencyMaxFinalizingQueue ? queues.concurrencyMaxFinalizingQueue : undefined,
    });
    last = queues;
  });
}

/**
 * New runs follow the server settings: their network, user, clean-up, path translation and hardening
 * (`siteSettingsOf`); `max-concurrent-finalizing-jobs`, when set, caps the finalizations at once (over the
 * finalizing queue's maximum).
 */
export function followServerSettings(engine: RunEngine, settings: SettingsStore, backend?: SelectedBackend,
  log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): () => void {
  let last = '';
  let capped = false;
  const apply = (server: DockerServerSettings, queues: QueueSettings): void => {
    const now = JSON.stringify(server);
    if (now !== last) {
      engine.setSiteSettings(siteSettingsOf(server));
      // The backend (`backend`, `host`): kinds the registry lacks are refused when posted. One that cannot connect
      // leaves runs on the current backend, with the reason logged.
      backend?.select(server.backend as BackendKind, server.host, backendOptionsOf(server)).catch((e: unknown) => {
        log(backend.connected
          ? `xcs: the ${server.backend} backend at ${server.host} cannot be used, runs stay on the ${backend.kind} backend: ${messageOf(e)}`
          : `xcs: the ${server.backend} backend at ${server.host} does not answer yet; tried again in the background: ${messageOf(e)}`);
      });
    }
    last = now;
    const cap = server['max-concurrent-finalizing-jobs'];
    if (cap !== null && cap > 0) {
      engine.setLimits({ maxFinalizing: cap });
      capped = true;
    } else if (capped) {
      // The cap removed: back to the finalizing queue's maximum.
      engine.setLimits({ maxFinalizing: queues.concurrencyMaxFinalizingQueue });
      capped = false;
    }
  };
  apply(settings.server(), settings.queues());
  return settings.onChange(({ server, queues }) => apply(server, queues));
}
