/**
 * The two commands of the orchestration tests' chain: step 1 writes STEP1/one.txt on a session; step 2 mounts
 * that resource (so it cannot resolve before step 1 uploaded) and writes STEP2/two.txt from it. Step 1's
 * command line and its second input vary with what a test needs (fail on demand, sleep under a restart).
 */
export function chainStep1(name: string, commandLine: string, extraInput: { name: string; 'replacement-key': string; 'default-value': string }) {
  return {
    name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
    'command-line': commandLine,
    mounts: [{ name: 'out', writable: true, path: '/output' }],
    inputs: [{ name: 'label', 'replacement-key': '#LABEL#', required: true }, extraInput],
    outputs: [{ name: 'one', mount: 'out', path: 'one.txt', required: true }],
    xnat: [{
      name, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{ name: 'session-label', type: 'string', 'derived-from-wrapper-input': 'session',
        'derived-from-xnat-object-property': 'label', 'provides-value-for-command-input': 'label' }],
      'output-handlers': [{ name: 'one-resource', 'accepts-command-output': 'one', 'as-a-child-of': 'session', label: 'STEP1' }],
    }],
  };
}

export function chainStep2(name: string) {
  return {
    name, version: '1', image: 'xcs-test/busybox:latest', type: 'docker', 'override-entrypoint': true,
    'command-line': "sh -c 'cat /input/one.txt > /output/two.txt; echo step2 >> /output/two.txt'",
    mounts: [{ name: 'in', writable: false, path: '/input' }, { name: 'out', writable: true, path: '/output' }],
    outputs: [{ name: 'two', mount: 'out', path: 'two.txt', required: true }],
    xnat: [{
      name, contexts: ['xnat:imageSessionData'],
      'external-inputs': [{ name: 'session', type: 'Session', required: true }],
      'derived-inputs': [{ name: 'step1', type: 'Resource', 'derived-from-wrapper-input': 'session', matcher: "@.label == 'STEP1'",
        'provides-files-for-command-mount': 'in' }],
      'output-handlers': [{ name: 'two-resource', 'accepts-command-output': 'two', 'as-a-child-of': 'session', label: 'STEP2' }],
    }],
  };
}
