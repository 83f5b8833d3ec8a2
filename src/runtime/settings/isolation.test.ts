import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isolationRefusal, networkOf } from './isolation.ts';
import { simpleRunSpec } from '../store/simple-spec.ts';
import { defaultSiteSettings, type SiteSettings } from './site-settings.ts';
import { httpStatusOf } from '../../http/error-mapping.ts';

const site = (over: Partial<SiteSettings['hardening']> = {}, network = 'none'): SiteSettings => {
  const s = defaultSiteSettings();
  return { ...s, containerNetwork: network, hardening: { ...s.hardening, ...over } };
};
const spec = (over: Record<string, unknown>) => ({ ...simpleRunSpec({ image: 'x/y:1', commandLine: 'true' }), ...over });

test('networks: none and the site\'s own always; others only when listed; * covers named networks, not host or container:', () => {
  assert.equal(isolationRefusal(spec({ network: 'none' }), site()), null);
  assert.equal(isolationRefusal(spec({ network: 'bridge' }), site({}, 'bridge')), null);
  for (const n of ['host', 'bridge', 'container:db', 'labnet']) {
    const r = isolationRefusal(spec({ network: n }), site());
    assert.equal(r?.code, 'launch.network-not-allowed', n);
    assert.match(r?.hint ?? '', /allowed-command-networks/);
    assert.equal(r && httpStatusOf(r), 403); // http's choice, by code
  }
  assert.equal(isolationRefusal(spec({ network: 'labnet' }), site({ allowedCommandNetworks: ['*'] })), null);
  assert.notEqual(isolationRefusal(spec({ network: 'host' }), site({ allowedCommandNetworks: ['*'] })), null);
  assert.notEqual(isolationRefusal(spec({ network: 'container:db' }), site({ allowedCommandNetworks: ['*'] })), null);
  assert.equal(isolationRefusal(spec({ network: 'container:db' }), site({ allowedCommandNetworks: ['container:*'] })), null);
  assert.equal(networkOf(spec({ network: null }), site({}, 'host')), 'host');
  assert.equal(networkOf(spec({ network: 'none' }), site({}, 'host')), 'none', 'a command may always ask for less');
});

test('ipc-mode host or container:, and another runtime, need their setting', () => {
  assert.match(isolationRefusal(spec({ 'ipc-mode': 'host' }), site())?.hint ?? '', /allow-ipc-host/);
  assert.match(isolationRefusal(spec({ 'ipc-mode': 'container:x' }), site())?.hint ?? '', /allow-ipc-host/);
  assert.equal(isolationRefusal(spec({ 'ipc-mode': 'shareable' }), site()), null);
  assert.equal(isolationRefusal(spec({ 'ipc-mode': 'host' }), site({ allowIpcHost: true })), null);
  assert.match(isolationRefusal(spec({ runtime: 'nvidia' }), site())?.hint ?? '', /allowed-runtimes/);
  assert.equal(isolationRefusal(spec({ runtime: 'runc' }), site()), null);
  assert.equal(isolationRefusal(spec({ runtime: 'nvidia' }), site({ allowedRuntimes: ['nvidia'] })), null);
});
