/**
 * `WeftStack`: one `WeftControlPlane` and its outputs, env-agnostic (no
 * lookups), as `cdk deploy` deploys it.
 *
 * @module
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { WeftControlPlane, type WeftControlPlaneProps } from './weft-control-plane.js';

/** Configuration of {@link WeftStack}. */
export interface WeftStackProps extends StackProps {
  /** The control plane's configuration. */
  readonly controlPlane: WeftControlPlaneProps;
  /** The control plane's construct id (and default name). @default 'main' */
  readonly controlPlaneId?: string;
}

/** The stack `infra/aws/app.ts` synthesizes. */
export class WeftStack extends Stack {
  readonly controlPlane: WeftControlPlane;

  constructor(scope: Construct, id: string, props: WeftStackProps) {
    super(scope, id, { description: 'weft: the control plane of a cross-cloud service mesh', ...props });
    const cp = new WeftControlPlane(this, props.controlPlaneId ?? 'main', props.controlPlane);
    this.controlPlane = cp;
    new CfnOutput(this, 'ApiUrl', { description: 'The weft API', value: cp.apiUrl });
    new CfnOutput(this, 'EventBusName', {
      description: 'The bus weft publishes changes on',
      value: cp.bus.eventBusName,
    });
    new CfnOutput(this, 'TableName', { description: 'The state table', value: cp.table.tableName });
    new CfnOutput(this, 'BucketName', { description: 'The state bucket', value: cp.bucket.bucketName });
    new CfnOutput(this, 'RelayKeyArn', {
      description: 'The KMS key relay events are signed with',
      value: cp.relayKey.keyArn,
    });
  }
}
