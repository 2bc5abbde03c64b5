/**
 * Pieces of the control plane that are the same each time they appear: the
 * dead-letter queues and the registrar's rules on the default bus.
 *
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** An encrypted, TLS-only queue holding what an EventBridge target could not process, for 14 days. */
export function deadLetterQueue(scope: Construct, id: string, key?: kms.IKey): sqs.Queue {
  return new sqs.Queue(scope, id, {
    ...(key
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** The tag keys weft reads on EC2 instances and ECS tasks start with this. */
export const WEFT_TAG_PREFIX = 'weft:';

/**
 * The rules on the account's default bus that feed the registrar: a `weft:`
 * tag changed on an EC2 instance or an ECS task, an instance changed state,
 * a task changed state. State changes cannot be filtered by tag (the events
 * carry none), so the registrar drops the untagged ones itself.
 */
export function registrarRules(scope: Construct, target: events.IRuleTarget): events.Rule[] {
  const defaultBus = events.EventBus.fromEventBusName(scope, 'DefaultBus', 'default');
  const rule = (id: string, description: string, eventPattern: events.EventPattern) =>
    new events.Rule(scope, id, { eventBus: defaultBus, description, eventPattern, targets: [target] });
  const tagChange = (service: string, resourceType: string): events.EventPattern => ({
    source: ['aws.tag'],
    detailType: ['Tag Change on Resource'],
    detail: {
      service: [service],
      'resource-type': [resourceType],
      'changed-tag-keys': events.Match.prefix(WEFT_TAG_PREFIX),
    },
  });
  return [
    rule('Ec2TagRule', 'weft: a weft: tag changed on an EC2 instance', tagChange('ec2', 'instance')),
    rule('EcsTagRule', 'weft: a weft: tag changed on an ECS task', tagChange('ecs', 'task')),
    rule('Ec2StateRule', 'weft: an EC2 instance changed state', {
      source: ['aws.ec2'],
      detailType: ['EC2 Instance State-change Notification'],
    }),
    rule('EcsTaskRule', 'weft: an ECS task changed state', {
      source: ['aws.ecs'],
      detailType: ['ECS Task State Change'],
    }),
  ];
}
