/**
 * The AWS calls the agent makes, through real SDK clients pointed at the emulator's own endpoint
 * and signed with the instance role's session, so the role's policies decide each one.
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  SetInstanceHealthCommand
} from '@aws-sdk/client-auto-scaling'
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException
} from '@aws-sdk/client-cloudwatch-logs'
import { AttachVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { TAGS } from '../../src/names.js'
import type { SessionCredentials } from './instance-role.js'

export interface AgentAws {
  /** SSM GetParameter WithDecryption; `name` may carry a `:version` selector. */
  parameter(name: string, region: string): Promise<string>
  /** Secrets Manager GetSecretValue's SecretString. */
  secret(secretId: string, region: string): Promise<string>
  /** ECR GetAuthorizationToken in the registry's region: the base64 `AWS:<password>` docker logs in with. */
  ecrLogin(region: string): Promise<string>
  /** CreateLogStream; an existing stream is fine (the awslogs driver creates it at each container start). */
  createLogStream(target: LogTarget): Promise<void>
  putLogEvents(target: LogTarget, lines: string[]): Promise<void>
  /** DescribeAutoScalingInstances for one instance: its group's name, or undefined when it is in none. */
  groupOf(instanceId: string, region: string): Promise<string | undefined>
  /** CompleteLifecycleAction of the instance's launch hook. */
  completeLifecycleAction(args: LifecycleCompletion): Promise<void>
  /** SetInstanceHealth Unhealthy, not waiting for the group's health check grace period. */
  reportUnhealthy(instanceId: string, region: string): Promise<void>
  /** DescribeVolumes of a service's volumes of one compose volume in one zone (of one slot, if given), by slot. */
  volumes(query: VolumeQuery): Promise<VolumeRow[]>
  /** AttachVolume. */
  attachVolume(args: { region: string; volumeId: string; instanceId: string; device: string }): Promise<void>
  destroy(): void
}

export interface VolumeQuery {
  region: string
  project: string
  stack: string
  service: string
  /** The compose volume's name (TAGS.volume). */
  name: string
  zone: string
  slot?: string
}

export interface VolumeRow {
  volumeId: string
  /** TAGS.slot's value. */
  slot: string
  state: string
  /** The attachment's instance and state, when attached (or attaching). */
  instanceId?: string
  attachmentState?: string
}

export interface LifecycleCompletion {
  region: string
  group: string
  hook: string
  instanceId: string
  result: 'CONTINUE' | 'ABANDON'
}

export interface LogTarget {
  region: string
  group: string
  stream: string
}

export function agentAws(endpoint: string, credentials: SessionCredentials): AgentAws {
  const clients = new Map<string, { destroy(): void }>()
  // one client per service and region, as the agent's CLI calls would use
  const client = <T extends { destroy(): void }>(key: string, make: () => T): T => {
    let c = clients.get(key)
    if (!c) {
      c = make()
      clients.set(key, c)
    }
    return c as T
  }
  const config = (region: string): { endpoint: string; region: string; credentials: SessionCredentials } => ({
    endpoint,
    region,
    credentials
  })
  const ssm = (region: string): SSMClient => client(`ssm ${region}`, () => new SSMClient(config(region)))
  const secrets = (region: string): SecretsManagerClient =>
    client(`secretsmanager ${region}`, () => new SecretsManagerClient(config(region)))
  const ecr = (region: string): ECRClient => client(`ecr ${region}`, () => new ECRClient(config(region)))
  const logs = (region: string): CloudWatchLogsClient =>
    client(`logs ${region}`, () => new CloudWatchLogsClient(config(region)))
  const ec2 = (region: string): EC2Client => client(`ec2 ${region}`, () => new EC2Client(config(region)))
  const autoScaling = (region: string): AutoScalingClient =>
    client(`autoscaling ${region}`, () => new AutoScalingClient(config(region)))
  return {
    async parameter(name, region) {
      const out = await ssm(region).send(new GetParameterCommand({ Name: name, WithDecryption: true }))
      return out.Parameter?.Value ?? ''
    },
    async secret(secretId, region) {
      const out = await secrets(region).send(new GetSecretValueCommand({ SecretId: secretId }))
      if (out.SecretString === undefined) throw new Error(`secret ${secretId} has no SecretString`)
      return out.SecretString
    },
    async ecrLogin(region) {
      const out = await ecr(region).send(new GetAuthorizationTokenCommand({}))
      const token = out.authorizationData?.[0]?.authorizationToken
      if (!token) throw new Error('GetAuthorizationToken returned no token')
      return token
    },
    async createLogStream(target) {
      try {
        await logs(target.region).send(
          new CreateLogStreamCommand({ logGroupName: target.group, logStreamName: target.stream })
        )
      } catch (err) {
        if (!(err instanceof ResourceAlreadyExistsException)) throw err
      }
    },
    async putLogEvents(target, lines) {
      if (lines.length === 0) return
      const now = Date.now()
      await logs(target.region).send(
        new PutLogEventsCommand({
          logGroupName: target.group,
          logStreamName: target.stream,
          logEvents: lines.map((message) => ({ timestamp: now, message }))
        })
      )
    },
    async groupOf(instanceId, region) {
      const out = await autoScaling(region).send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }))
      return out.AutoScalingInstances?.find((i) => i.InstanceId === instanceId)?.AutoScalingGroupName
    },
    async completeLifecycleAction(args) {
      await autoScaling(args.region).send(
        new CompleteLifecycleActionCommand({
          LifecycleHookName: args.hook,
          AutoScalingGroupName: args.group,
          LifecycleActionResult: args.result,
          InstanceId: args.instanceId
        })
      )
    },
    async reportUnhealthy(instanceId, region) {
      await autoScaling(region).send(
        new SetInstanceHealthCommand({
          InstanceId: instanceId,
          HealthStatus: 'Unhealthy',
          ShouldRespectGracePeriod: false
        })
      )
    },
    async volumes(q) {
      const tags: [string, string | undefined][] = [
        [TAGS.project, q.project],
        [TAGS.stack, q.stack],
        [TAGS.service, q.service],
        [TAGS.volume, q.name],
        [TAGS.slot, q.slot]
      ]
      const out = await ec2(q.region).send(
        new DescribeVolumesCommand({
          Filters: [
            { Name: 'availability-zone', Values: [q.zone] },
            ...tags.flatMap(([key, value]) => (value === undefined ? [] : [{ Name: `tag:${key}`, Values: [value] }]))
          ]
        })
      )
      return (out.Volumes ?? [])
        .map((v) => ({
          volumeId: v.VolumeId ?? '',
          slot: v.Tags?.find((t) => t.Key === TAGS.slot)?.Value ?? '',
          state: v.State ?? '',
          ...(v.Attachments?.[0]?.InstanceId ? { instanceId: v.Attachments[0].InstanceId } : {}),
          ...(v.Attachments?.[0]?.State ? { attachmentState: v.Attachments[0].State } : {})
        }))
        .sort((a, b) => Number(a.slot) - Number(b.slot))
    },
    async attachVolume(args) {
      await ec2(args.region).send(
        new AttachVolumeCommand({ VolumeId: args.volumeId, InstanceId: args.instanceId, Device: args.device })
      )
    },
    destroy() {
      for (const c of clients.values()) c.destroy()
      clients.clear()
    }
  }
}
