import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processCommand, splitCommandLine } from './command-line.ts';

test('splits on unquoted whitespace and never yields empty arguments', () => {
  assert.deepEqual(splitCommandLine('  dcm2niix   -z y\t-o /output  /input '), ['dcm2niix', '-z', 'y', '-o', '/output', '/input']);
  assert.deepEqual(splitCommandLine(''), []);
  assert.deepEqual(splitCommandLine('""'), []);
  assert.deepEqual(splitCommandLine("a '' b"), ['a', 'b']);
});

test('quotes group words, are dropped, and make the other quote literal', () => {
  assert.deepEqual(splitCommandLine(`run "a b" 'c d'`), ['run', 'a b', 'c d']);
  assert.deepEqual(splitCommandLine(`x "it's" 'say "hi"'`), ['x', "it's", 'say "hi"']);
  assert.deepEqual(splitCommandLine(`--flag="a b"c`), ['--flag=a bc']);
});

test('a backslash escapes the next character except inside single quotes', () => {
  assert.deepEqual(splitCommandLine('a\\ b c'), ['a b', 'c']);
  assert.deepEqual(splitCommandLine('"a\\"b"'), ['a"b']);
  assert.deepEqual(splitCommandLine("'a\\b'"), ['a\\b']);
  assert.deepEqual(splitCommandLine('\\"x'), ['"x']);
});

test('an unterminated quote runs to the end of the line', () => {
  assert.deepEqual(splitCommandLine('echo "a b'), ['echo', 'a b']);
  assert.deepEqual(splitCommandLine("echo 'a  b"), ['echo', 'a  b']);
});

test('overriding the entrypoint runs the line with /bin/sh -c, untouched', () => {
  assert.deepEqual(processCommand('echo "$X" && ls', true), { resetEntrypoint: true, args: ['/bin/sh', '-c', 'echo "$X" && ls'] });
  assert.deepEqual(processCommand('echo "a b"', false), { resetEntrypoint: false, args: ['echo', 'a b'] });
});
