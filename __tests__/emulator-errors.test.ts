/**
 * Every error code the emulator can return (each service's errors module, as GET /_emulator/errors
 * lists them) goes through that service's own serialisation and must reach the real SDK client as
 * the exception AWS's model gives it, with the HTTP status AWS uses. The expectation comes from the
 * SDK package's error schemas, never from the emulator.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import * as acm from '@aws-sdk/client-acm'
import * as autoscaling from '@aws-sdk/client-auto-scaling'
import * as logs from '@aws-sdk/client-cloudwatch-logs'
import * as pricing from '@aws-sdk/client-pricing'
import * as ec2 from '@aws-sdk/client-ec2'
import * as ecr from '@aws-sdk/client-ecr'
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2'
import * as events from '@aws-sdk/client-eventbridge'
import * as iam from '@aws-sdk/client-iam'
import * as lambda from '@aws-sdk/client-lambda'
import * as route53 from '@aws-sdk/client-route-53'
import * as secretsmanager from '@aws-sdk/client-secrets-manager'
import * as sqs from '@aws-sdk/client-sqs'
import * as ssm from '@aws-sdk/client-ssm'
import * as sts from '@aws-sdk/client-sts'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'
import type { ErrorCodes } from '../emulator/types.js'

type Package = Record<string, unknown>
type Protocol = 'query' | 'json' | 'rest'

interface ServiceUnderTest {
  pkg: Package
  protocol: Protocol
  /** The base exception class every error of the client extends. */
  base: string
  operation: string
  /** One call of `operation` through the real client. */
  call: (emu: Emulator) => Promise<unknown>
}

const SERVICES: Record<string, ServiceUnderTest> = {
  ec2: {
    pkg: ec2,
    protocol: 'query',
    base: 'EC2ServiceException',
    operation: 'DescribeVpcs',
    call: (emu) => new ec2.EC2Client(sdkConfig(emu)).send(new ec2.DescribeVpcsCommand({}))
  },
  autoscaling: {
    pkg: autoscaling,
    protocol: 'query',
    base: 'AutoScalingServiceException',
    operation: 'DescribeAutoScalingGroups',
    call: (emu) =>
      new autoscaling.AutoScalingClient(sdkConfig(emu)).send(new autoscaling.DescribeAutoScalingGroupsCommand({}))
  },
  iam: {
    pkg: iam,
    protocol: 'query',
    base: 'IAMServiceException',
    operation: 'GetRole',
    call: (emu) => new iam.IAMClient(sdkConfig(emu)).send(new iam.GetRoleCommand({ RoleName: 'r' }))
  },
  sts: {
    pkg: sts,
    protocol: 'query',
    base: 'STSServiceException',
    operation: 'GetCallerIdentity',
    call: (emu) => new sts.STSClient(sdkConfig(emu)).send(new sts.GetCallerIdentityCommand({}))
  },
  route53: {
    pkg: route53,
    protocol: 'rest',
    base: 'Route53ServiceException',
    operation: 'ListHostedZones',
    call: (emu) => new route53.Route53Client(sdkConfig(emu)).send(new route53.ListHostedZonesCommand({}))
  },
  lambda: {
    pkg: lambda,
    protocol: 'rest',
    base: 'LambdaServiceException',
    operation: 'ListFunctions',
    call: (emu) => new lambda.LambdaClient(sdkConfig(emu)).send(new lambda.ListFunctionsCommand({}))
  },
  events: {
    pkg: events,
    protocol: 'json',
    base: 'EventBridgeServiceException',
    operation: 'ListRules',
    call: (emu) => new events.EventBridgeClient(sdkConfig(emu)).send(new events.ListRulesCommand({}))
  },
  logs: {
    pkg: logs,
    protocol: 'json',
    base: 'CloudWatchLogsServiceException',
    operation: 'DescribeLogGroups',
    call: (emu) => new logs.CloudWatchLogsClient(sdkConfig(emu)).send(new logs.DescribeLogGroupsCommand({}))
  },
  sqs: {
    pkg: sqs,
    protocol: 'json',
    base: 'SQSServiceException',
    operation: 'ListQueues',
    call: (emu) => new sqs.SQSClient(sdkConfig(emu)).send(new sqs.ListQueuesCommand({}))
  },
  ssm: {
    pkg: ssm,
    protocol: 'json',
    base: 'SSMServiceException',
    operation: 'GetParameter',
    call: (emu) => new ssm.SSMClient(sdkConfig(emu)).send(new ssm.GetParameterCommand({ Name: '/p' }))
  },
  secretsmanager: {
    pkg: secretsmanager,
    protocol: 'json',
    base: 'SecretsManagerServiceException',
    operation: 'ListSecrets',
    call: (emu) =>
      new secretsmanager.SecretsManagerClient(sdkConfig(emu)).send(new secretsmanager.ListSecretsCommand({}))
  },
  ecr: {
    pkg: ecr,
    protocol: 'json',
    base: 'ECRServiceException',
    operation: 'DescribeRepositories',
    call: (emu) => new ecr.ECRClient(sdkConfig(emu)).send(new ecr.DescribeRepositoriesCommand({}))
  },
  elasticloadbalancing: {
    pkg: elbv2,
    protocol: 'query',
    base: 'ElasticLoadBalancingV2ServiceException',
    operation: 'DescribeLoadBalancers',
    call: (emu) =>
      new elbv2.ElasticLoadBalancingV2Client(sdkConfig(emu)).send(new elbv2.DescribeLoadBalancersCommand({}))
  },
  acm: {
    pkg: acm,
    protocol: 'json',
    base: 'ACMServiceException',
    operation: 'ListCertificates',
    call: (emu) => new acm.ACMClient(sdkConfig(emu)).send(new acm.ListCertificatesCommand({}))
  },
  pricing: {
    pkg: pricing,
    protocol: 'json',
    base: 'PricingServiceException',
    operation: 'DescribeServices',
    call: (emu) => new pricing.PricingClient(sdkConfig(emu)).send(new pricing.DescribeServicesCommand({}))
  }
}

/** An error shape as the SDK packages export it: [-3, namespace, name, traits, members, member schemas]. */
interface ErrorShape {
  name: string
  traits: { error?: string; httpError?: number; awsQueryError?: [string, number] }
}

function errorShapes(pkg: Package): ErrorShape[] {
  return Object.entries(pkg)
    .filter(([key, value]) => key.endsWith('$') && Array.isArray(value) && value[0] === -3)
    .map(([, value]) => {
      const schema = value as unknown[]
      return { name: String(schema[2]), traits: (schema[3] ?? {}) as ErrorShape['traits'] }
    })
}

/** The shape AWS's model maps a wire code to: the awsQueryError code for query services, the shape name otherwise. */
function modelledShape(service: ServiceUnderTest, code: string): ErrorShape | undefined {
  const shapes = errorShapes(service.pkg)
  const byQueryCode =
    service.protocol === 'query' ? shapes.find((s) => s.traits.awsQueryError?.[0] === code) : undefined
  return byQueryCode ?? shapes.find((s) => s.name === code)
}

/** The status the model gives the shape: httpError, else the awsQueryError status, else 400/500 by fault. */
function modelledStatus(service: ServiceUnderTest, shape: ErrorShape): number {
  if (shape.traits.httpError !== undefined) return shape.traits.httpError
  if (service.protocol === 'query' && shape.traits.awsQueryError) return shape.traits.awsQueryError[1]
  return shape.traits.error === 'server' ? 500 : 400
}

let emu: Emulator
let control: EmulatorClient
let served: Record<string, ErrorCodes>

beforeAll(async () => {
  emu = await startEmulator()
  control = new EmulatorClient(emu.endpoint)
  served = await control.errorCodes()
})

afterAll(async () => {
  await emu.stop()
})

describe('every error code the emulator can return', () => {
  test('belongs to a service this test knows how to call, and every service lists some', () => {
    expect(Object.keys(served).sort()).toEqual(Object.keys(SERVICES).sort())
    for (const codes of Object.values(served)) expect(Object.keys(codes).length).toBeGreaterThan(0)
  })

  test('reaches the real SDK client as the exception class AWS models for it, with the HTTP status AWS uses', async () => {
    const failures: string[] = []
    for (const [signingName, codes] of Object.entries(served)) {
      const service = SERVICES[signingName]
      if (!service) continue
      for (const [code, status] of Object.entries(codes)) {
        const message = `injected ${code}`
        await control.queueError({ service: signingName, operation: service.operation, code, message })
        const err = await service.call(emu).then(
          () => undefined,
          (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } }
        )
        const shape = modelledShape(service, code)
        const name = shape?.name ?? code
        const ctor = service.pkg[shape?.name ?? service.base] as new (...args: never[]) => Error
        const problems: string[] = []
        if (!err) problems.push('the call succeeded')
        else {
          if (!(err instanceof ctor)) problems.push(`not an instance of ${shape?.name ?? service.base}`)
          if (err.name !== name) problems.push(`name ${err.name}, want ${name}`)
          if (err.message !== message) problems.push(`message ${JSON.stringify(err.message)}`)
          if (err.$metadata?.httpStatusCode !== status)
            problems.push(`HTTP ${String(err.$metadata?.httpStatusCode)}, listed ${status}`)
        }
        if (shape && modelledStatus(service, shape) !== status)
          problems.push(`listed ${status}, the model says ${modelledStatus(service, shape)}`)
        if (problems.length > 0) failures.push(`${signingName} ${code}: ${problems.join('; ')}`)
      }
    }
    expect(failures).toEqual([])
  })

  test("carries the modelled members where the model binds them: Lambda's throttling sets Retry-After", async () => {
    await control.queueError({ service: 'lambda', operation: 'ListFunctions', code: 'TooManyRequestsException' })
    const err = await SERVICES.lambda?.call(emu).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(lambda.TooManyRequestsException)
    expect(err).toMatchObject({ retryAfterSeconds: '1', Reason: 'CallerRateLimitExceeded' })
  })

  test('is the only kind of code the test hook accepts', async () => {
    await expect(
      control.queueError({ service: 'route53', operation: 'ListHostedZones', code: 'NoSuchThing' })
    ).rejects.toThrow(/not an error code of route53/)
  })
})
