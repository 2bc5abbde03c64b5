/**
 * The CDK app: `WeftStack` with its control plane, configured from context.
 *
 * From the repository root: `npm run cdk -- synth -c weft:operatorIssuer=... ...`
 * (or `npm run synth:aws` with placeholders); from infra/aws: `npx cdk synth`.
 *
 * @module
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { controlPlanePropsFromContext } from './app-context.js';
import { WeftStack } from './weft-stack.js';

const app = new App();
// cdk-nag 3 runs as a validation plugin (its Aspect form is gone): a finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// Env-agnostic: no account or region, hence no lookups; `cdk deploy` takes them from the profile.
new WeftStack(app, 'WeftStack', { controlPlane: controlPlanePropsFromContext(app.node) });
app.synth();
