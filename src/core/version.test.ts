/** XCS's version is package.json's, found from the sources (and, at the same depth, from the bundle in dist/cli/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { XCS_VERSION } from './version.ts';

test('XCS_VERSION is the version in package.json, not "unknown"', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(XCS_VERSION, pkg.version);
  assert.notEqual(XCS_VERSION, 'unknown');
});
