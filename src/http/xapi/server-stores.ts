/**
 * Stores one plugin opens that a sibling plugin of the same server reads, keyed by the HTTP server: the
 * management plugin's settings (e.g. `status-email-enabled`, read by the notifications at each ended run).
 */
import type { SettingsStore } from './settings.ts';

const settings = new WeakMap<object, SettingsStore>();

export function setServerSettings(server: object, store: SettingsStore): void {
  settings.set(server, store);
}

export function serverSettingsOf(server: object): SettingsStore | undefined {
  return settings.get(server);
}
