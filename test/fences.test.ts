import { describe, expect, it } from 'vitest';
import { checkFences, readSources, repoRoot, specifiersOf } from './support/import-fences.js';

describe('import fences (docs/architecture.md)', () => {
  it('the tree keeps every fence', () => {
    const files = readSources(repoRoot, ['shared', 'agents']);
    expect(files.length).toBeGreaterThan(100);
    expect(checkFences(files).map((v) => `${v.file} -> ${v.specifier} (${v.rule})`)).toEqual([]);
  });

  it('reads static imports, type imports, re-exports and dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "const d = await import('./d.js');",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });

  it('refuses an agent that imports the API edge, storage or the compiler', () => {
    const violations = checkFences([
      { path: 'agents/gateway/x.ts', text: "import { toProblem } from '../../shared/api/problem.js';" },
      {
        path: 'agents/gateway/dataplane/y.ts',
        text: "import type { S } from '../../../shared/storage/state-store.js';",
      },
      { path: 'agents/gateway/z.ts', text: "const c = await import('../../shared/compiler/compile.js');" },
      {
        path: 'agents/gateway/ok.ts',
        text: "import { verifySnapshot } from '../../shared/contract/signed-snapshot.js';",
      },
    ]);
    expect(violations.map((v) => v.file)).toEqual([
      'agents/gateway/x.ts',
      'agents/gateway/dataplane/y.ts',
      'agents/gateway/z.ts',
    ]);
    expect(violations[0]!.rule).toMatch(/agents\/ imports only/);
  });

  it('refuses shared/model importing another room', () => {
    const violations = checkFences([
      { path: 'shared/model/x.ts', text: "import { MeshCa } from '../identity/ca.js';" },
      { path: 'shared/model/ok.ts', text: "import { parseDuration } from './duration.js';" },
    ]);
    expect(violations).toEqual([
      {
        file: 'shared/model/x.ts',
        specifier: '../identity/ca.js',
        rule: 'shared/model imports no other room of shared/',
      },
    ]);
  });

  it('refuses a cloud SDK in shared/ or agents/, and allows it in functions/', () => {
    const violations = checkFences([
      { path: 'shared/config/x.ts', text: "import { S3Client } from '@aws-sdk/client-s3';" },
      { path: 'agents/gateway/x.ts', text: "import { app } from '@azure/functions';" },
      { path: 'shared/y.ts', text: "import cdk from 'aws-cdk-lib';" },
      { path: 'functions/aws/ok.ts', text: "import { S3Client } from '@aws-sdk/client-s3';" },
    ]);
    expect(violations.map((v) => [v.file, v.rule])).toEqual([
      ['shared/config/x.ts', 'no cloud SDK in shared/ or agents/'],
      ['agents/gateway/x.ts', 'no cloud SDK in shared/ or agents/'],
      ['shared/y.ts', 'no cloud SDK in shared/ or agents/'],
    ]);
  });

  it('refuses shared/ importing a host or the agent', () => {
    const violations = checkFences([
      { path: 'shared/api/x.ts', text: "import { startLocalHost } from '../../functions/local/host.js';" },
      { path: 'shared/events/y.ts', text: "import { x } from '../../agents/gateway/main.js';" },
    ]);
    expect(violations.map((v) => v.file)).toEqual(['shared/api/x.ts', 'shared/events/y.ts']);
  });
});
