/**
 * One synthesis of a `WeftStack` with cdk-nag attached, into a temp dir, for
 * the infra tests: the template, the assembly dir and the validation report.
 *
 * @module
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { WeftControlPlaneProps } from '../../../infra/aws/weft-control-plane.js';
import { WeftStack } from '../../../infra/aws/weft-stack.js';

export const OPERATOR = {
  operatorIssuer: 'https://login.example.com/',
  operatorAudience: 'weft',
  operatorJwksUrl: 'https://login.example.com/.well-known/jwks.json',
} as const;

export interface Synthesized {
  readonly stack: WeftStack;
  readonly template: Template;
  /** The cloud assembly directory. */
  readonly outdir: string;
  readonly templatePath: string;
  /** `validation-report.json`: cdk-nag's findings, open and acknowledged. */
  readonly report: ValidationReport;
}

export interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly conclusion: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity: string }[];
    readonly suppressedViolations?: readonly {
      readonly ruleName: string;
      readonly reason: string;
      readonly acknowledgedAt: string;
    }[];
  }[];
}

/**
 * Synthesizes the stack; `bundle: false` skips esbuild (CDK's bundling-stacks
 * context), for tests about props rather than bundles.
 */
export function synthWeftStack(
  props: Partial<WeftControlPlaneProps> = {},
  options: { readonly bundle?: boolean } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'weft-cdk-'));
  const app = new App({
    outdir,
    context: options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {},
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new WeftStack(app, 'WeftStack', { controlPlane: { ...OPERATOR, ...props } });
  // Throws, with the report, when cdk-nag finds anything unacknowledged at error level.
  const assembly = app.synth();
  const templatePath = join(assembly.directory, stack.templateFile);
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  return { stack, template: Template.fromStack(stack), outdir: assembly.directory, templatePath, report };
}
