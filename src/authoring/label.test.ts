import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerfileQuote, labelInstruction, labelValue, rewriteDockerfile } from './label.ts';

/** Docker's reading of a double-quoted word (moby shell lexer): `\` drops before `"`, `$`, `\`; `$X` expands. */
function dockerReads(word: string): string {
  assert.ok(word.startsWith('"') && word.endsWith('"'));
  const body = word.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length && ['"', '$', '\\'].includes(body[i + 1])) {
      out += body[i + 1];
      i += 1;
    } else if (c === '$') {
      assert.fail(`unescaped $ at ${i} would be expanded by docker build`);
    } else if (c === '"') {
      assert.fail(`unescaped " at ${i} would end the word`);
    } else {
      out += c;
    }
  }
  return out;
}

test('the label value survives Docker\'s quoting: quotes, $VARS, backslashes and JSON escapes', () => {
  const command = { name: 'x', 'command-line': 'sh -c "echo $HOME \\\\ done" \'#A#\'', description: 'line\nbreak é' };
  const value = labelValue([command]);
  assert.equal(dockerReads(dockerfileQuote(value)), value);
  assert.deepEqual(JSON.parse(dockerReads(dockerfileQuote(value))), [command]);
});

test('the label is one compact array without the authoring-only xcs-tests', () => {
  const line = labelInstruction([{ name: 'a', 'xcs-tests': [{ name: 't' }] }, { name: 'b' }]);
  assert.equal(line, 'LABEL org.nrg.commands="[{\\"name\\":\\"a\\"},{\\"name\\":\\"b\\"}]"');
  assert.ok(!line.includes('\n'));
});

test('rewriteDockerfile replaces a multi-line LABEL in place and keeps every other byte', () => {
  const before = 'FROM scratch\n# keep me\nLABEL org.nrg.commands="[{\\"old\\":1}]" \\\n  \nCOPY a /a\n';
  const { text, replaced } = rewriteDockerfile(before, 'LABEL org.nrg.commands="[]"');
  assert.equal(replaced, true);
  assert.equal(text, 'FROM scratch\n# keep me\nLABEL org.nrg.commands="[]"\nCOPY a /a\n');
  const added = rewriteDockerfile('FROM scratch', 'LABEL org.nrg.commands="[]"');
  assert.deepEqual(added, { text: 'FROM scratch\nLABEL org.nrg.commands="[]"\n', replaced: false });
});

test('rewriteDockerfile refuses a LABEL shared with other labels, and several of ours, naming the lines', () => {
  assert.throws(() => rewriteDockerfile('FROM scratch\nLABEL a=b org.nrg.commands="[]"\n', 'LABEL x', 'Dockerfile'),
    (e: Error & { code?: string }) => e.code === 'label.dockerfile.mixed' && /line 2/.test(e.message));
  assert.throws(() => rewriteDockerfile('LABEL org.nrg.commands="[]"\nLABEL org.nrg.commands="[]"\n', 'LABEL x'),
    (e: Error & { code?: string }) => e.code === 'label.dockerfile.several' && /lines 1, 2/.test(e.message));
});
