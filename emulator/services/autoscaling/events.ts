/** Auto Scaling's events on EventBridge (Amazon EC2 Auto Scaling event reference): source aws.autoscaling. */
import { randomUUID } from 'node:crypto'
import type { AwsServiceEvent, Cloud } from '../../types.js'
import type { GroupRecord } from './model.js'

export function autoscalingEvent(
  cloud: Cloud,
  group: GroupRecord,
  e: { detailType: string; instanceId?: string; detail: Record<string, unknown> }
): AwsServiceEvent {
  const { detailType, instanceId, detail } = e
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'aws.autoscaling',
    account: cloud.accountId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: group.region,
    resources: [
      group.arn,
      ...(instanceId ? [`arn:aws:ec2:${group.region}:${cloud.accountId}:instance/${instanceId}`] : [])
    ],
    detail
  }
}
