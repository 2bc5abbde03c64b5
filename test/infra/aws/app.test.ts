import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { controlPlanePropsFromContext, PLACEHOLDER_OPERATOR } from '../../../infra/aws/app-context.js';

const run = promisify(execFile);
const node = (context: Record<string, unknown>) => new App({ context }).node;

describe('controlPlanePropsFromContext', () => {
  it('reads every weft: key', () => {
    const peers = [{ cloud: 'gcp', url: 'https://gcp.example.com', keys: [{ kid: 'a' }] }];
    expect(
      controlPlanePropsFromContext(
        node({
          'weft:operatorIssuer': 'https://login.example.com/',
          'weft:operatorAudience': 'weft',
          'weft:operatorJwksUrl': 'https://login.example.com/jwks',
          'weft:peers': JSON.stringify(peers),
          'weft:defaultEnvironment': 'aws-prod',
          'weft:deletionProtection': 'false',
          'weft:name': 'prod',
        }),
      ),
    ).toEqual({
      operatorIssuer: 'https://login.example.com/',
      operatorAudience: 'weft',
      operatorJwksUrl: 'https://login.example.com/jwks',
      peers,
      defaultEnvironment: 'aws-prod',
      deletionProtection: false,
      name: 'prod',
    });
  });

  it('names every missing required key and how to pass it', () => {
    expect(() => controlPlanePropsFromContext(node({ 'weft:operatorAudience': 'weft' }))).toThrow(
      /missing CDK context weft:operatorIssuer, weft:operatorJwksUrl: pass -c weft:operatorIssuer=\.\.\. -c weft:operatorJwksUrl=\.\.\./,
    );
  });

  it('uses placeholders only when asked, and peers default to none', () => {
    expect(controlPlanePropsFromContext(node({ 'weft:placeholders': 'true' }))).toEqual({
      ...PLACEHOLDER_OPERATOR,
      peers: [],
    });
  });

  it('reads a federated root certificate from the file weft:rootCert names, and says when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-cdk-root-'));
    const file = join(dir, 'root.pem');
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(file, pem);
    const base = { 'weft:placeholders': 'true' };
    expect(controlPlanePropsFromContext(node({ ...base, 'weft:rootCert': file })).rootCertPem).toBe(pem);
    expect(() =>
      controlPlanePropsFromContext(node({ ...base, 'weft:rootCert': join(dir, 'missing.pem') })),
    ).toThrow(/weft:rootCert: cannot read .*missing\.pem/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses malformed flags and peers', () => {
    const base = { 'weft:placeholders': true };
    expect(() => controlPlanePropsFromContext(node({ ...base, 'weft:deletionProtection': 'no' }))).toThrow(
      /must be true or false/,
    );
    expect(() => controlPlanePropsFromContext(node({ ...base, 'weft:peers': '{' }))).toThrow(/not JSON/);
    expect(() => controlPlanePropsFromContext(node({ ...base, 'weft:peers': '{}' }))).toThrow(/JSON array/);
  });
});

describe('infra/aws/app.ts', () => {
  const app = (context: Record<string, unknown>) => {
    const outdir = mkdtempSync(join(tmpdir(), 'weft-cdk-app-'));
    // As the CDK CLI runs it: context and output directory through the environment.
    const env = { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) };
    return { outdir, result: run('node', ['--import', 'tsx', 'infra/aws/app.ts'], { env }) };
  };

  it('fails before synthesizing anything when operator context is missing', async () => {
    await expect(app({}).result).rejects.toMatchObject({
      stderr: expect.stringContaining(
        'missing CDK context weft:operatorIssuer, weft:operatorAudience, weft:operatorJwksUrl',
      ),
    });
  });

  it('synthesizes WeftStack with placeholders, cdk-nag attached', async () => {
    const { outdir, result } = app({ 'weft:placeholders': 'true', 'aws:cdk:bundling-stacks': [] });
    await result;
    const template = JSON.parse(readFileSync(join(outdir, 'WeftStack.template.json'), 'utf8'));
    expect(JSON.stringify(template)).toContain(PLACEHOLDER_OPERATOR.operatorJwksUrl);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((r: { pluginName: string }) => r.pluginName)).toContain('AwsSolutions');
  }, 180_000);
});
