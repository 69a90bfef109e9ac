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
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr'
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
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
  destroy(): void
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
    destroy() {
      for (const c of clients.values()) c.destroy()
      clients.clear()
    }
  }
}
