/**
 * `infra/azure/deploy.sh` and `teardown.sh`, run for real as child
 * processes, with a stand-in `az` first on the PATH (the Azure CLI cannot
 * reach Azure here): one that fails if it is called at all, for
 * `--dry-run`, and one that records its arguments and answers the two
 * queries deploy.sh reads, for a whole deployment. shellcheck lints both
 * scripts (Debian's `shellcheck` package; .ci/run installs it). The code
 * package is built by `bundle.ts` from a small entry and read back with
 * `unzip`, an independent client.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_HOST_JSON, AZURE_PACKAGE_JSON, bundleAzureFunctions } from '../../../infra/azure/bundle.js';
import { weftTemplate } from '../../../infra/azure/template.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'infra', 'azure', 'deploy.sh');
const TEARDOWN = join(ROOT, 'infra', 'azure', 'teardown.sh');
const execFileAsync = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'weft-azure-scripts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A directory holding an `az` script, to put first on the PATH. */
function fakeAz(name: string, script: string): string {
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'az'), `#!/bin/sh\n${script}\n`);
  chmodSync(join(bin, 'az'), 0o755);
  return bin;
}

const AZ_LOG = join(dir, 'az.log');
const AZ_PARAMS = join(dir, 'az-parameters.log');
/** Fails, and leaves a trace, if anything calls it. */
const failingAz = fakeAz('failing', `echo "$*" >> "${AZ_LOG}"; echo "az must not run here" >&2; exit 97`);
/** Records each call (and each @parameters file), answers the queries deploy.sh and teardown.sh read. */
const recordingAz = fakeAz(
  'recording',
  `printf '%s\\n' "$*" >> "${AZ_LOG}"
for a in "$@"; do case $a in @*) cat "\${a#@}" >> "${AZ_PARAMS}"; echo >> "${AZ_PARAMS}";; esac; done
case "$*" in
  *"deployment group create"*functionAppName*) echo weft-main-abc123 ;;
  *"deployment group show"*) echo '{"apiUrl":{"type":"String","value":"https://weft-main-abc123.azurewebsites.net/api"}}' ;;
  *"keyvault list"*) echo weft-main-abcdefgh ;;
  *"resource list"*'null]'*) printf 'Microsoft.Compute/virtualMachines\\tvm1\\n' ;;
  *"group delete"*) exit 97 ;;
esac
exit 0`,
);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The `+ ` lines (commands), temp paths replaced by <tmp>. */
  readonly commands: string[];
  /** Each az call the fake saw. */
  readonly azCalls: string[];
}

function script(file: string, args: readonly string[], bin: string, input?: string): Run {
  rmSync(AZ_LOG, { force: true });
  rmSync(AZ_PARAMS, { force: true });
  const result = spawnSync('bash', [file, ...args], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, TMPDIR: dir },
    cwd: dir,
    input: input ?? '',
    timeout: 60_000,
  });
  const commands = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('+ '))
    .map((line) => line.slice(2).replaceAll(/\/\S*weft-azure\.\w+/g, '<tmp>'));
  const azCalls = existsSync(AZ_LOG) ? readFileSync(AZ_LOG, 'utf8').trim().split('\n') : [];
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, commands, azCalls };
}

const OPERATOR = [
  '--operator-issuer',
  'https://login.example.com/',
  '--operator-audience',
  'weft',
  '--operator-jwks-url',
  'https://login.example.com/jwks',
];

describe('shellcheck', () => {
  it('finds nothing in deploy.sh or teardown.sh', async () => {
    const found = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (found.error)
      throw new Error('shellcheck is not installed: apt-get install -y shellcheck (as .ci/run does)');
    const { stdout } = await execFileAsync('shellcheck', [
      '--severity=style',
      '--shell=bash',
      DEPLOY,
      TEARDOWN,
    ]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(stdout).toBe('');
  });
});

describe('deploy.sh', () => {
  it('--help says what it needs, and runs nothing', () => {
    const run = script(DEPLOY, ['--help'], failingAz);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: infra\/azure\/deploy\.sh --resource-group NAME/);
    for (const flag of [
      '--subscription',
      '--location',
      '--name',
      '--push-audience',
      '--dry-run',
      '--package',
    ]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.azCalls).toEqual([]);
  });

  it('names every missing required flag, and bad values, before calling az', () => {
    const missing = script(DEPLOY, ['--dry-run', '--operator-audience', 'weft'], failingAz);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --resource-group --operator-issuer --operator-jwks-url');
    const badName = script(DEPLOY, ['-g', 'rg', '--name', 'Prod-1', ...OPERATOR], failingAz);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--name must be 1-10 lower-case letters and digits');
    const http = script(
      DEPLOY,
      ['-g', 'rg', ...OPERATOR.slice(0, 4), '--operator-jwks-url', 'http://x/jwks'],
      failingAz,
    );
    expect(http.stderr).toContain('--operator-jwks-url must be an https URL');
    expect([...missing.azCalls, ...badName.azCalls, ...http.azCalls]).toEqual([]);
  });

  it('--dry-run prints every command in order and runs no az', () => {
    const run = script(
      DEPLOY,
      ['--dry-run', '-g', 'weft-rg', '-s', 'sub-1', '-l', 'westeurope', ...OPERATOR],
      failingAz,
    );
    expect(run.stderr).not.toContain('az must not run here');
    expect(run.code).toBe(0);
    expect(run.azCalls).toEqual([]);
    const template = join(ROOT, 'infra', 'azure', 'weft.json');
    const group = '--resource-group weft-rg --subscription sub-1';
    expect(run.commands).toEqual([
      'az account set --subscription sub-1',
      ...[
        'Microsoft.Web',
        'Microsoft.Storage',
        'Microsoft.KeyVault',
        'Microsoft.EventGrid',
        'Microsoft.ManagedIdentity',
        'Microsoft.Insights',
        'Microsoft.OperationalInsights',
      ].map((ns) => `az provider register --namespace ${ns} --wait`),
      'az group create --name weft-rg --location westeurope --tags weft:control-plane=main --output none',
      `az deployment group create ${group} --name weft-main --template-file ${template} --parameters @<tmp>/parameters.json deploySubscriptions=false --query properties.outputs.functionAppName.value --output tsv`,
      'node --import tsx infra/azure/bundle.ts <tmp>/package',
      `az functionapp deployment source config-zip ${group} --name function-app-from-stage-1 --src <tmp>/package/weft-functions.zip --output none`,
      `az deployment group create ${group} --name weft-main --template-file ${template} --parameters @<tmp>/parameters.json deploySubscriptions=true recoverVault=false --output none`,
      `az deployment group show ${group} --name weft-main --query properties.outputs --output json`,
    ]);
    expect(run.stdout).toBe('');
  });

  it('--dry-run shows the parameters, the generated delivery secret redacted', () => {
    const run = script(DEPLOY, ['--dry-run', '-g', 'rg', ...OPERATOR], failingAz);
    const line = run.stderr.split('\n').find((l) => l.startsWith('weft: parameters: '))!;
    expect(JSON.parse(line.slice('weft: parameters: '.length))).toEqual({
      name: 'main',
      location: 'eastus',
      operatorIssuer: 'https://login.example.com/',
      operatorAudience: 'weft',
      operatorJwksUrl: 'https://login.example.com/jwks',
      peers: '[]',
      pushSecret: '<generated>',
      monitoring: true,
      recoverVault: false,
    });
  });

  describe('a whole deployment, with the recording az', () => {
    let run: Run;
    let parameters: { parameters: Record<string, { value: unknown }> }[];
    const peers = [{ cloud: 'gcp', url: 'https://gcp.example.com', keys: [{ kid: 'k1', kty: 'EC' }] }];
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

    beforeAll(async () => {
      const entry = join(dir, 'entry.mts');
      writeFileSync(
        entry,
        "import functions from '@azure/functions';\nfunctions.app.timer('weftSweep', { schedule: '0 * * * * *', handler: async () => {} });\n",
      );
      const { zip } = await bundleAzureFunctions({ outDir: join(dir, 'bundle'), entry });
      writeFileSync(join(dir, 'peers.json'), JSON.stringify(peers));
      writeFileSync(join(dir, 'root.pem'), pem);
      run = script(
        DEPLOY,
        [
          ...[
            '-g',
            'weft-rg',
            '-n',
            'prod',
            '--package',
            zip,
            '--peers-file',
            'peers.json',
            '--root-cert',
            'root.pem',
          ],
          ...[
            '--push-audience',
            'api://weft-push',
            '--msi-audience',
            'api://weft-agents',
            '--no-monitoring',
            ...OPERATOR,
          ],
        ],
        recordingAz,
      );
      parameters = readFileSync(AZ_PARAMS, 'utf8')
        .trim()
        .split(/\n(?=\{)/)
        .map((text) => JSON.parse(text));
    }, 60_000);

    it('runs the stages in order, deploying the code to the app stage 1 named', () => {
      expect(run.code, run.stderr).toBe(0);
      expect(run.azCalls.map((c) => c.split(' --')[0])).toEqual([
        ...Array(7).fill('provider register'),
        'group create',
        'deployment group create',
        'functionapp deployment source config-zip',
        'deployment group create',
        'deployment group show',
      ]);
      expect(run.azCalls[9]).toBe(
        `functionapp deployment source config-zip --resource-group weft-rg --name weft-main-abc123 --src ${join(dir, 'bundle', 'weft-functions.zip')} --output none`,
      );
      expect(run.azCalls[8]).toContain('deploySubscriptions=false');
      expect(run.azCalls[10]).toContain('deploySubscriptions=true recoverVault=false');
    });

    it('prints the outputs, and only them, on stdout', () => {
      expect(JSON.parse(run.stdout)).toEqual({
        apiUrl: { type: 'String', value: 'https://weft-main-abc123.azurewebsites.net/api' },
      });
    });

    it('passes peers and the PEM intact, in a parameters file of declared parameters only, no secret with an Entra app', () => {
      expect(parameters).toHaveLength(2);
      const [file] = parameters;
      expect(parameters[1]).toEqual(file);
      const values = Object.fromEntries(Object.entries(file!.parameters).map(([k, v]) => [k, v.value]));
      expect(values).toEqual({
        name: 'prod',
        location: 'eastus',
        operatorIssuer: 'https://login.example.com/',
        operatorAudience: 'weft',
        operatorJwksUrl: 'https://login.example.com/jwks',
        peers: JSON.stringify(peers),
        rootCert: pem,
        pushAudience: 'api://weft-push',
        msiAudience: 'api://weft-agents',
        monitoring: false,
        recoverVault: false,
      });
      for (const name of Object.keys(values)) expect(Object.keys(weftTemplate().parameters)).toContain(name);
    });
  });

  it('generates a delivery secret of 32 random bytes when there is no Entra app', () => {
    const zip = join(dir, 'any.zip');
    writeFileSync(zip, 'not read by the recording az');
    const first = script(DEPLOY, ['-g', 'rg', '--package', zip, ...OPERATOR], recordingAz);
    expect(first.code, first.stderr).toBe(0);
    const secret = (
      JSON.parse(readFileSync(AZ_PARAMS, 'utf8').split(/\n(?=\{)/)[0]!).parameters as Record<
        string,
        { value: string }
      >
    ).pushSecret!.value;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(first.stderr).not.toContain(secret);
  });
});

describe('teardown.sh', () => {
  it('--dry-run prints the listing, the group deletion and the vault note, and runs no az', () => {
    const run = script(TEARDOWN, ['--dry-run', '-g', 'weft-rg', '-s', 'sub-1'], failingAz);
    expect(run.code).toBe(0);
    expect(run.azCalls).toEqual([]);
    expect(run.commands).toEqual([
      `az resource list --resource-group weft-rg --subscription sub-1 --query \\[\\].\\{name:name\\,\\ type:type\\} --output table`,
      `az resource list --resource-group weft-rg --subscription sub-1 --query \\[\\?tags.\\"weft:control-plane\\"\\ ==\\ null\\].\\[type\\,\\ name\\] --output tsv`,
      'az keyvault list --resource-group weft-rg --subscription sub-1 --query \\[\\].name --output tsv',
      'az group delete --name weft-rg --subscription sub-1 --yes',
      'az keyvault show-deleted --name vault-from-the-list-above --subscription sub-1 --query properties.scheduledPurgeDate --output tsv',
    ]);
    expect(run.stderr).toMatch(/soft-deleted with its keys; recoverable \(name reserved\)/);
  });

  it('without --yes and without a terminal, deletes nothing', () => {
    const run = script(TEARDOWN, ['-g', 'weft-rg'], recordingAz);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not a terminal: pass --yes');
    expect(run.azCalls.some((c) => c.startsWith('group delete'))).toBe(false);
  });

  it('names what deploy.sh did not create before deleting it with --yes', () => {
    const run = script(TEARDOWN, ['-g', 'weft-rg', '--yes'], recordingAz);
    expect(run.stderr).toMatch(
      /WARNING: these were not created by deploy\.sh .*\n {2}Microsoft\.Compute\/virtualMachines\tvm1/,
    );
    expect(run.azCalls.at(-1)).toBe('group delete --name weft-rg --yes');
    expect(run.code).toBe(97); // the recording az refuses the deletion itself
  });

  it('--help explains the vault is only soft-deleted', () => {
    const run = script(TEARDOWN, ['--help'], failingAz);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('purge protection keeps it');
    expect(run.azCalls).toEqual([]);
  });
});

describe('bundle.ts', () => {
  const entry = join(dir, 'zip-entry.mts');
  writeFileSync(
    entry,
    "import functions from '@azure/functions';\nfunctions.app.timer('weftSweep', { schedule: '0 * * * * *', handler: async () => {} });\n",
  );

  it('zips host.json, package.json and the bundle, readable by unzip', async () => {
    const { zip, files } = await bundleAzureFunctions({ outDir: join(dir, 'zip-a'), entry });
    expect(files).toEqual(['host.json', 'package.json', 'index.mjs']);
    expect((await execFileAsync('unzip', ['-Z1', zip])).stdout.trim().split('\n')).toEqual(files);
    expect((await execFileAsync('unzip', ['-t', zip])).stdout).toContain('No errors detected');
    const read = async (name: string) => JSON.parse((await execFileAsync('unzip', ['-p', zip, name])).stdout);
    expect(await read('host.json')).toEqual(AZURE_HOST_JSON);
    expect(await read('package.json')).toEqual(AZURE_PACKAGE_JSON);
    expect(AZURE_PACKAGE_JSON.main).toBe('index.mjs');
  });

  it('is reproducible: the same input, the same bytes', async () => {
    const a = await bundleAzureFunctions({ outDir: join(dir, 'zip-b'), entry });
    const b = await bundleAzureFunctions({ outDir: join(dir, 'zip-c'), entry });
    expect(readFileSync(a.zip).equals(readFileSync(b.zip))).toBe(true);
  });
});
