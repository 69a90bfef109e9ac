/**
 * The public front door's four kinds (load balancer, its security group, its two listeners, the
 * services' target groups) through the engine against the in-process emulator, with real SDK
 * clients under a role that has exactly docs/deployer-policy.json and docs/deployer-policy-public-endpoints.json
 * (as PublicEndpoints=true makes it): readCurrent -> diff -> applyPlan,
 * a re-run that writes nothing, a health check change, drift healed, and destroy.
 *
 * The project certificate is another kind's: here it is requested and validated with the ACM SDK,
 * and handed to the listener through a certificate step that returns its ARN.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { ACMClient, DescribeCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm'
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleSession, sdkConfig, type SdkTestConfig } from '../emulator/testing.js'
import { applyPlan } from '../src/apply.js'
import { createClients, destroyClients, type Clients } from '../src/aws/clients.js'
import type { ComposeModel } from '../src/compose/model.js'
import { readCurrent } from '../src/current.js'
import { buildDesired, DEREGISTRATION_DELAY, SSL_POLICY } from '../src/desired.js'
import { TAGS, loadBalancerName, targetGroupName } from '../src/names.js'
import { destroyPlan, diff } from '../src/plan.js'
import { KINDS } from '../src/resources/index.js'
import { NO_SERVICE } from '../src/resources/listener.js'
import type { Change, CurrentState, DesiredState, Network, Plan, PublicZone } from '../src/state.js'
import { awsClients, destroyAws, publicVpc, type Aws } from './helpers/e2e.js'
import { inputs as fixtureInputs, lambdaCode, svc } from './helpers/deploy-fixtures.js'

const POLICY = readFileSync(fileURLToPath(new URL('../docs/deployer-policy.json', import.meta.url)), 'utf8')
const PUBLIC_ENDPOINTS_POLICY = readFileSync(
  fileURLToPath(new URL('../docs/deployer-policy-public-endpoints.json', import.meta.url)),
  'utf8'
)
const scope = { project: 'prj-front', stack: 'st-web', region: 'us-east-1' }
const DOMAIN = 'front.example.com'
const timing = { baseDelayMs: 5, maxDelayMs: 50, pollMs: 20, consistencyMs: 5000, teardownMs: 20_000 }
const MINE = new Set(['load-balancer-security-group', 'load-balancer', 'listener', 'target-group'])

let emulator: Emulator

/**
 * A session of a role with docs/deployer-policy.json and, when given, a second policy (the public
 * endpoints document, or part of it): two role policies, as the template's inline and managed ones.
 */
async function deployerSession(roleName: string, publicEndpoints?: string | object): Promise<SdkTestConfig> {
  const session = await roleSession(emulator, { roleName, policy: POLICY })
  if (publicEndpoints !== undefined)
    await admin.iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'public-endpoints',
        PolicyDocument: typeof publicEndpoints === 'string' ? publicEndpoints : JSON.stringify(publicEndpoints)
      })
    )
  return session
}
let admin: Aws
let elb: ElasticLoadBalancingV2Client
let clients: Clients
let network: Network
let zone: PublicZone
let certificateArn: string
const saved = { ...process.env }
const log = (): void => undefined

function model(checkPath?: string): ComposeModel {
  return {
    services: [
      svc('web', {
        public: true,
        ports: [{ target: 80, published: 8080, protocol: 'tcp' }],
        ...(checkPath ? { checkPath } : {})
      })
    ],
    files: ['compose.yaml']
  }
}

function desiredState(checkPath?: string, project = scope.project): DesiredState {
  return buildDesired({
    inputs: fixtureInputs({ ...scope, project, domain: DOMAIN }),
    model: model(checkPath),
    network,
    lambdaCode,
    publicZone: zone
  })
}

/** What the certificate kind will read: the project certificate, issued. */
async function read(options: { otherStacks?: boolean } = {}): Promise<CurrentState> {
  const current = await readCurrent(clients, scope, { publicZone: zone, ...options })
  return {
    ...current,
    certificate: { arn: certificateArn, domainName: `*.${DOMAIN}`, alternativeNames: [DOMAIN], status: 'ISSUED' }
  }
}

/** The plan's changes of the four kinds, and the project certificate (its step hands its ARN over). */
function only(plan: Plan, desired?: DesiredState): Plan {
  const changes = plan.changes.filter((c) => MINE.has(c.kind))
  const certificate = desired?.public?.certificate
  if (certificate)
    changes.unshift({
      kind: 'certificate',
      action: 'noop',
      name: certificate.domainName,
      reason: 'up to date',
      desired: certificate
    } as Change)
  return { ...plan, changes }
}

const active = (plan: Plan): string[] =>
  plan.changes
    .filter((c) => c.action !== 'noop')
    .map((c) => `${c.action} ${c.kind} ${c.name}${c.drift ? ' (drift)' : ''}: ${c.reason}`)

/** Applies `plan`; returns the writes the emulator saw, in order. */
async function apply(plan: Plan, desired?: DesiredState): Promise<string[]> {
  await emulator.waitIdle()
  emulator.resetCalls()
  await applyPlan(plan, { clients, ...(desired ? { desired } : {}), log, timing })
  return emulator
    .calls()
    .filter((c) => c.kind === 'write')
    .map((c) => c.operation)
}

async function issuedCertificate(): Promise<string> {
  const acm = new ACMClient(sdkConfig(emulator))
  try {
    const arn =
      (
        await acm.send(
          new RequestCertificateCommand({
            DomainName: `*.${DOMAIN}`,
            SubjectAlternativeNames: [DOMAIN],
            ValidationMethod: 'DNS'
          })
        )
      ).CertificateArn ?? ''
    const record = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate
      ?.DomainValidationOptions?.[0]?.ResourceRecord
    await admin.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: record?.Name,
                Type: 'CNAME',
                TTL: 300,
                ResourceRecords: [{ Value: record?.Value }]
              }
            }
          ]
        }
      })
    )
    for (let i = 0; i < 200; i++) {
      const status = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate?.Status
      if (status === 'ISSUED') return arn
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error('the certificate was not issued')
  } finally {
    acm.destroy()
  }
}

/** The engine's clients, as a role session (they take their credentials from the environment). */
function clientsAs(role: SdkTestConfig): Clients {
  process.env.AWS_ENDPOINT_URL = emulator.endpoint
  process.env.AWS_ACCESS_KEY_ID = role.credentials.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = role.credentials.secretAccessKey
  process.env.AWS_SESSION_TOKEN = role.credentials.sessionToken
  process.env.AWS_REGION = scope.region
  return createClients({ region: scope.region, maxAttempts: 3 })
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      elbTimeScale: 0.001,
      acmValidationRecordMs: 0,
      agentStandIn: false
    }
  })
  admin = awsClients(emulator, scope.region)
  elb = new ElasticLoadBalancingV2Client(sdkConfig(emulator))
  const vpc = await publicVpc(admin, scope.region, '10.61')
  network = {
    vpcId: vpc.vpc,
    vpcCidr: '10.61.0.0/16',
    subnetIds: vpc.subnets,
    subnetZones: { [vpc.subnets[0] ?? '']: 'us-east-1a', [vpc.subnets[1] ?? '']: 'us-east-1b' },
    resolver: '10.61.0.2'
  }
  const hosted = await admin.route53.send(new CreateHostedZoneCommand({ Name: DOMAIN, CallerReference: 'front' }))
  zone = { id: (hosted.HostedZone?.Id ?? '').replace('/hostedzone/', ''), name: DOMAIN }
  certificateArn = await issuedCertificate()
  // The engine runs as the deployer: every call is checked against both documents.
  clients = clientsAs(await deployerSession('deployer', PUBLIC_ENDPOINTS_POLICY))
  // The certificate kind's step hands over the certificate's ARN (that kind is built elsewhere).
  jest.spyOn(KINDS.certificate, 'apply').mockImplementation(() => Promise.resolve(certificateArn))
})

afterAll(async () => {
  jest.restoreAllMocks()
  destroyClients(clients)
  destroyAws(admin)
  elb.destroy()
  await emulator.stop()
  process.env = saved
})

async function targetGroupOf(name: string): Promise<Record<string, unknown>> {
  const tg = (await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }))).TargetGroups?.[0]
  const arn = tg?.TargetGroupArn ?? ''
  const attributes = (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes
  const tags = (await elb.send(new DescribeTagsCommand({ ResourceArns: [arn] }))).TagDescriptions?.[0]?.Tags
  return {
    port: tg?.Port,
    protocol: tg?.Protocol,
    vpcId: tg?.VpcId,
    path: tg?.HealthCheckPath,
    codes: tg?.Matcher?.HttpCode,
    delay: attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value,
    hashed: tags?.some((t) => t.Key === TAGS.configHash) ?? false
  }
}

describe('the public front door through the engine', () => {
  const tgName = targetGroupName(scope, 'web', 8080)

  test('a first deploy creates the group, the load balancer (waited active), both listeners and the target group', async () => {
    const desired = desiredState()
    const plan = only(diff(desired, await read()), desired)
    expect(active(plan).map((line) => line.split(':')[0])).toEqual([
      'create load-balancer-security-group hyperform-prj-front-load-balancer',
      'create load-balancer hyperform-prj-front',
      'create listener hyperform-prj-front/https',
      'create listener hyperform-prj-front/http',
      `create target-group ${tgName}`
    ])
    const writes = await apply(plan, desired)
    expect(writes.filter((w) => w.startsWith('Create')).sort()).toEqual([
      'CreateListener',
      'CreateListener',
      'CreateLoadBalancer',
      'CreateSecurityGroup',
      'CreateTargetGroup'
    ])

    const lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [loadBalancerName(scope)] })))
      .LoadBalancers?.[0]
    expect(lb?.State?.Code).toBe('active')
    expect(lb?.Scheme).toBe('internet-facing')
    const groups = (
      await admin.ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: 'group-name', Values: [`hyperform-${scope.project}-load-balancer`] }]
        })
      )
    ).SecurityGroups
    expect(groups).toHaveLength(1)
    expect(lb?.SecurityGroups).toEqual([groups?.[0]?.GroupId])
    expect((groups?.[0]?.IpPermissions ?? []).map((p) => p.FromPort).sort()).toEqual([443, 80])

    const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn }))).Listeners
    const https = listeners?.find((l) => l.Port === 443)
    expect(https?.Certificates?.[0]?.CertificateArn).toBe(certificateArn)
    expect(https?.SslPolicy).toBe(SSL_POLICY)
    expect(https?.DefaultActions?.[0]?.FixedResponseConfig).toMatchObject({
      StatusCode: '404',
      MessageBody: NO_SERVICE
    })
    const http = listeners?.find((l) => l.Port === 80)
    expect(http?.DefaultActions?.[0]?.RedirectConfig).toMatchObject({
      Protocol: 'HTTPS',
      Port: '443',
      StatusCode: 'HTTP_301'
    })

    // A run stopped after its creates, planned again from what it read before them: it adopts them all.
    await apply(plan, desired)
    expect((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers).toHaveLength(1)
    expect(
      (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.LoadBalancerArn }))).Listeners
    ).toHaveLength(2)
    expect((await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups).toHaveLength(1)

    expect(await targetGroupOf(tgName)).toEqual({
      port: 8080,
      protocol: 'HTTP',
      vpcId: network.vpcId,
      path: '/',
      codes: '200-399',
      delay: String(DEREGISTRATION_DELAY),
      hashed: true
    })
  })

  test('a re-run plans all noop, writes nothing and reads no target group attributes', async () => {
    const desired = desiredState()
    await emulator.waitIdle()
    emulator.resetCalls()
    const plan = only(diff(desired, await read()), desired)
    expect(active(plan)).toEqual([])
    expect(plan.changes.filter((c) => MINE.has(c.kind))).toHaveLength(5)
    const reads = emulator
      .calls()
      .filter((c) => c.service === 'elasticloadbalancing' || c.operation.startsWith('Describe'))
    expect(reads.map((c) => c.operation)).not.toContain('DescribeTargetGroupAttributes')
    // One DescribeLoadBalancers, shared by the four kinds.
    expect(reads.filter((c) => c.operation === 'DescribeLoadBalancers')).toHaveLength(1)
    expect(await apply(plan, desired)).toEqual([])
  })

  test('a new health check path is one target group update, then all noop again', async () => {
    const desired = desiredState('/healthz')
    const plan = only(diff(desired, await read()), desired)
    expect(active(plan)).toEqual([
      `update target-group ${tgName}: health check path / -> /healthz; deregistration delay ${DEREGISTRATION_DELAY} s (last written: another configuration)`
    ])
    expect(await apply(plan, desired)).toEqual(['ModifyTargetGroup', 'ModifyTargetGroupAttributes', 'AddTags'])
    expect(await targetGroupOf(tgName)).toMatchObject({ path: '/healthz', delay: String(DEREGISTRATION_DELAY) })
    expect(active(only(diff(desired, await read()), desired))).toEqual([])
  })

  test('a listener changed by hand is drift, and healed', async () => {
    const desired = desiredState('/healthz')
    const lbArn = (await read()).loadBalancer?.arn
    const https = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners?.find(
      (l) => l.Port === 443
    )
    await elb.send(
      new ModifyListenerCommand({ ListenerArn: https?.ListenerArn, SslPolicy: 'ELBSecurityPolicy-2016-08' })
    )
    const plan = only(diff(desired, await read()), desired)
    expect(active(plan)).toEqual([
      `update listener hyperform-prj-front/https (drift): TLS policy ELBSecurityPolicy-2016-08 -> ${SSL_POLICY}`
    ])
    expect(await apply(plan, desired)).toEqual(['ModifyListener'])
    expect(active(only(diff(desired, await read()), desired))).toEqual([])
  })

  test('destroying the last stack removes the listeners, then the load balancer, then its group; and the target group', async () => {
    const current = await read({ otherStacks: true })
    expect(current.otherStacks).toEqual([])
    const plan = only(destroyPlan(current, scope))
    expect(
      active(plan)
        .map((line) => line.split(':')[0])
        .sort()
    ).toEqual([
      'delete listener hyperform-prj-front/http',
      'delete listener hyperform-prj-front/https',
      'delete load-balancer hyperform-prj-front',
      'delete load-balancer-security-group hyperform-prj-front-load-balancer',
      `delete target-group ${tgName}`
    ])
    const writes = await apply(plan)
    expect(writes.filter((w) => w !== 'DeleteTargetGroup')).toEqual([
      'DeleteListener',
      'DeleteListener',
      'DeleteLoadBalancer',
      'DeleteSecurityGroup'
    ])
    expect(writes).toContain('DeleteTargetGroup')
    const after = await readCurrent(clients, scope, { publicZone: zone })
    expect(after.loadBalancer).toBeUndefined()
    expect(after.loadBalancerSecurityGroup).toBeUndefined()
    expect(after.listeners).toEqual([])
    expect(after.targetGroups).toEqual([])
    // ...and a stack without a domain, once the load balancer is gone, reads none of it.
    emulator.resetCalls()
    const plain = await readCurrent(clients, scope)
    expect(plain.targetGroups).toBeUndefined()
    expect(
      emulator
        .calls()
        .filter((c) => c.service === 'elasticloadbalancing')
        .map((c) => c.operation)
    ).toEqual(['DescribeLoadBalancers'])
  })
})

describe('the load balancing statements of docs/deployer-policy-public-endpoints.json', () => {
  const statements = (JSON.parse(PUBLIC_ENDPOINTS_POLICY) as { Statement: Array<{ Sid: string; Action: string[] }> })
    .Statement
  const publicActions = statements.flatMap((s) => s.Action)

  test('the document is needed: with docs/deployer-policy.json alone a deploy of the front door is denied one of its actions', async () => {
    const denied = clientsAs(await deployerSession('core-only'))
    const desired = desiredState(undefined, 'prj-coreonly')
    try {
      // the read of the public kinds is denied already (with the domain input they read their resources)
      const failure = await (async () => {
        const current = {
          ...(await readCurrent(denied, desired.scope, { publicZone: zone })),
          certificate: { arn: certificateArn, domainName: `*.${DOMAIN}`, alternativeNames: [DOMAIN], status: 'ISSUED' }
        }
        await applyPlan(only(diff(desired, current), desired), { clients: denied, desired, log, timing })
      })().then(
        () => undefined,
        (err: unknown) => err as Error
      )
      const action = /not authorized to perform: ([a-z0-9]+:\w+)/.exec(
        [failure?.message, (failure?.cause as Error | undefined)?.message].join('\n')
      )?.[1]
      expect(action).toBeDefined()
      expect(publicActions).toContain(action)
    } finally {
      destroyClients(denied)
    }
  })

  test.each(['CreateTaggedLoadBalancing', 'TagLoadBalancingOnCreate', 'ChangeOwnLoadBalancing'])(
    '%s is needed: without it the first deploy of the front door is denied one of its actions',
    async (sid) => {
      const statement = statements.find((s) => s.Sid === sid)
      expect(statement).toBeDefined()
      const policy = { Version: '2012-10-17', Statement: statements.filter((s) => s.Sid !== sid) }
      const denied = clientsAs(await deployerSession(`without-${sid}`, policy))
      const project = `prj-${sid.slice(0, 6).toLowerCase()}`
      const desired = desiredState(undefined, project)
      const current = {
        ...(await readCurrent(denied, desired.scope, { publicZone: zone })),
        certificate: { arn: certificateArn, domainName: `*.${DOMAIN}`, alternativeNames: [DOMAIN], status: 'ISSUED' }
      }
      try {
        const failure = await applyPlan(only(diff(desired, current), desired), {
          clients: denied,
          desired,
          log,
          timing
        }).then(
          () => undefined,
          (err: unknown) => err as Error
        )
        expect(failure?.message).toMatch(/not authorized to perform: elasticloadbalancing:(\w+)/)
        const action = /not authorized to perform: (elasticloadbalancing:\w+)/.exec(failure?.message ?? '')?.[1]
        expect(statement?.Action).toContain(action)
      } finally {
        destroyClients(denied)
      }
    }
  )
})
