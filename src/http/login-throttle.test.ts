// The in-memory login throttle with an injected clock: the window, the lock and its end, what a success forgets,
// and its memory bound (locks outlive a flood of fresh names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLoginThrottle, throttleOptionsFromEnv } from './login-throttle.ts';

function clocked(opts: ConstructorParameters<typeof MemoryLoginThrottle>[0] = {}) {
  const clock = { t: 1_000_000 };
  return { clock, throttle: new MemoryLoginThrottle({ maxFailures: 3, maxAddressFailures: 5, windowMs: 60_000, now: () => clock.t, ...opts }) };
}

test('failures older than the window do not count; the Nth within it locks for the lock-out time', () => {
  const { clock, throttle } = clocked({ lockoutMs: 120_000 });
  assert.equal(throttle.failed('ann', '10.0.0.1'), undefined);
  assert.equal(throttle.failed('ann', '10.0.0.2'), undefined);
  clock.t += 61_000; // both fall out of the window
  assert.equal(throttle.failed('ann', '10.0.0.3'), undefined);
  assert.equal(throttle.failed('ann', '10.0.0.4'), undefined);
  assert.deepEqual(throttle.failed('ann', '10.0.0.5'), { scope: 'login', retryAfterSeconds: 120 });
  clock.t += 30_500;
  assert.deepEqual(throttle.locked('ann', '10.9.9.9'), { scope: 'login', retryAfterSeconds: 90 });
  assert.equal(throttle.locked('bob', '10.0.0.5'), undefined, 'another login from those addresses is not locked');
  clock.t += 90_000;
  assert.equal(throttle.locked('ann', '10.0.0.5'), undefined, 'the lock ends by itself');
  assert.equal(throttle.failed('ann', '10.0.0.5'), undefined, 'and counting starts again');
});

test('an address is locked by failures of any logins; a success forgets the login\'s failures, not the address\'s', () => {
  const { throttle } = clocked();
  for (const login of ['a', 'b', 'c', 'd']) assert.equal(throttle.failed(login, '10.0.0.1'), undefined);
  throttle.succeeded('a');
  assert.deepEqual(throttle.failed('e', '10.0.0.1'), { scope: 'address', retryAfterSeconds: 60 });
  assert.equal(throttle.locked('a', '10.0.0.1')?.scope, 'address');
  assert.equal(throttle.locked('a', '10.0.0.2'), undefined);
  assert.equal(throttle.unlockAddress('10.0.0.1'), true);
  assert.equal(throttle.locked('a', '10.0.0.1'), undefined);

  throttle.failed('f', '10.1.0.1');
  throttle.failed('f', '10.1.0.2');
  throttle.succeeded('f');
  assert.equal(throttle.failed('f', '10.1.0.3'), undefined, 'the success reset the login count');
  assert.deepEqual(throttle.loginState('f'), { failures: 1, retryAfterSeconds: 0 });
});

test('a success during a lock does not lift it; unlockLogin does', () => {
  const { throttle } = clocked();
  for (let i = 0; i < 3; i++) throttle.failed('ann', `10.0.0.${i}`);
  throttle.succeeded('ann');
  assert.equal(throttle.locked('ann', '10.0.0.9')?.scope, 'login');
  assert.equal(throttle.unlockLogin('ann'), true);
  assert.equal(throttle.locked('ann', '10.0.0.9'), undefined);
  assert.equal(throttle.unlockLogin('ann'), false);
});

test('memory is bounded: a flood of fresh logins keeps at most maxEntries each, and drops locks last', () => {
  const { throttle } = clocked({ maxEntries: 50, maxAddressFailures: 1_000_000 });
  for (let i = 0; i < 3; i++) throttle.failed('target', `10.0.0.${i}`);
  for (let i = 0; i < 10_000; i++) throttle.failed(`flood-${i}`, `10.2.${i >> 8}.${i & 255}`);
  assert.equal(throttle.locked('target', '10.9.9.9')?.scope, 'login', 'the lock survived the flood');
  let remembered = 0;
  for (let i = 0; i < 10_000; i++) if (throttle.loginState(`flood-${i}`).failures > 0) remembered++;
  assert.ok(remembered <= 49, `${remembered} flood logins remembered`);
});

test('settings from the environment; a bad value names the variable', () => {
  assert.deepEqual(throttleOptionsFromEnv({ XCS_LOGIN_MAX_FAILURES: '7', XCS_LOGIN_WINDOW_SECONDS: '60' }),
    { maxFailures: 7, maxAddressFailures: undefined, windowMs: 60_000, lockoutMs: undefined });
  assert.throws(() => throttleOptionsFromEnv({ XCS_LOGIN_MAX_FAILURES: 'five' }), /XCS_LOGIN_MAX_FAILURES must be a whole number/);
});
