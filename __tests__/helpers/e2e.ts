/**
 * Helpers for the end-to-end tests: run the bundled action (as GitHub does) against an
 * in-process emulator, tell its calls apart from the DNS updater's, and look at what
 * exists in the emulated AWS through real SDK v3 clients.
 */
import { ACMClient } from '@aws-sdk/client-acm'
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  type AutoScalingGroup
} from '@aws-sdk/client-auto-scaling'
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeRouteTablesCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  CreateLaunchTemplateVersionCommand,
  ModifyLaunchTemplateCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type Instance,
  type LaunchTemplateVersion
} from '@aws-sdk/client-ec2'
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge'
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda'
import { ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { runAction, type ActionRun } from '../../emulator/github-runner.js'
import type { AgentConfig } from '../../src/agent/config.js'
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/server.js'
import { sdkConfig } from '../../emulator/testing.js'
import type { CallRecord } from '../../emulator/types.js'
import {
  functionName,
  logGroupName,
  roleName,
  ruleName,
  TAGS,
  zoneName,
  type ProjectScope,
  type StackScope
} from '../../src/names.js'

/** The access key the action runs with; the DNS updater's calls carry `lambda-<function>`. */
export const ACTION_KEY = 'AKIAE2EACTION'

export interface Aws {
  ec2: EC2Client
  autoScaling: AutoScalingClient
  route53: Route53Client
  lambda: LambdaClient
  events: EventBridgeClient
  logs: CloudWatchLogsClient
  iam: IAMClient
  ssm: SSMClient
  elb: ElasticLoadBalancingV2Client
  acm: ACMClient
}

export function awsClients(emulator: Emulator, region: string): Aws {
  const config = sdkConfig(emulator, { region, maxAttempts: 3 })
  return {
    ec2: new EC2Client(config),
    autoScaling: new AutoScalingClient(config),
    route53: new Route53Client(config),
    lambda: new LambdaClient(config),
    events: new EventBridgeClient(config),
    logs: new CloudWatchLogsClient(config),
    iam: new IAMClient(config),
    ssm: new SSMClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    acm: new ACMClient(config)
  }
}

export function destroyAws(aws: Aws): void {
  for (const client of Object.values(aws)) client.destroy()
}

/** The seed's compose file (examples/wordpress). */
export const SEED_COMPOSE = readFileSync(
  fileURLToPath(new URL('../../examples/wordpress/compose.yaml', import.meta.url)),
  'utf8'
)

/** Instances start and stop in tens of milliseconds; SQS's clock runs 20 times as fast (a deleted queue's name is free again after 3 s). */
export const FAST_SIMULATION = { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }

export interface SeedSuite {
  emulator: Emulator
  aws: Aws
  /** A workspace holding the seed's compose file as compose.yaml. */
  work: string
}

/** An emulator, SDK clients and a workspace with the seed's compose file, for one test (or several); `stop` ends them. */
export async function startSeedSuite(
  region = 'us-east-1',
  simulation: EmulatorOptions['simulation'] = {}
): Promise<SeedSuite & { stop(): Promise<void> }> {
  const emulator = await startEmulator({ simulation: { ...FAST_SIMULATION, ...simulation } })
  const aws = awsClients(emulator, region)
  const work = workspace({ 'compose.yaml': SEED_COMPOSE })
  return {
    emulator,
    aws,
    work,
    stop: async () => {
      destroyAws(aws)
      await emulator.stop()
      rmSync(work, { recursive: true, force: true })
    }
  }
}

/** For one test file: before its tests an emulator, SDK clients and a workspace with the seed's compose file; after them, gone. */
export function seedSuite(region = 'us-east-1', simulation: EmulatorOptions['simulation'] = {}): SeedSuite {
  const suite = {} as SeedSuite
  let stop: () => Promise<void> = async () => {}
  beforeAll(async () => {
    const started = await startSeedSuite(region, simulation)
    stop = started.stop
    suite.emulator = started.emulator
    suite.aws = started.aws
    suite.work = started.work
  })
  afterAll(() => stop())
  return suite
}

/** A new launch template version made by hand (as in the console) and made the default; returns its number. */
export async function defaultVersionByHand(
  aws: Aws,
  template: { id?: string; defaultVersion?: number } | undefined,
  instanceType: string
): Promise<number | undefined> {
  const made = await aws.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: template?.id,
      SourceVersion: String(template?.defaultVersion),
      LaunchTemplateData: { InstanceType: instanceType as never }
    })
  )
  const version = made.LaunchTemplateVersion?.VersionNumber
  await aws.ec2.send(
    new ModifyLaunchTemplateCommand({ LaunchTemplateId: template?.id, DefaultVersion: String(version) })
  )
  return version
}

/**
 * A VPC other than the default one, made by hand as a user would for a stack (`vpc-id`): DNS
 * hostnames on, two subnets in `<prefix>.1.0/24` and `<prefix>.2.0/24`, and a way out (an internet
 * gateway on the main route table, public addresses on launch).
 */
export async function publicVpc(aws: Aws, region: string, prefix: string): Promise<{ vpc: string; subnets: string[] }> {
  const vpc = (await aws.ec2.send(new CreateVpcCommand({ CidrBlock: `${prefix}.0.0/16` }))).Vpc?.VpcId ?? ''
  await aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
  const subnets: string[] = []
  for (const [i, az] of ['a', 'b'].entries())
    subnets.push(
      (
        await aws.ec2.send(
          new CreateSubnetCommand({
            VpcId: vpc,
            CidrBlock: `${prefix}.${i + 1}.0/24`,
            AvailabilityZone: `${region}${az}`
          })
        )
      ).Subnet?.SubnetId ?? ''
    )
  const igw = (await aws.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? ''
  await aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }))
  const main = (
    await aws.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpc] },
          { Name: 'association.main', Values: ['true'] }
        ]
      })
    )
  ).RouteTables?.[0]
  await aws.ec2.send(
    new CreateRouteCommand({ RouteTableId: main?.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })
  )
  for (const SubnetId of subnets)
    await aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId, MapPublicIpOnLaunch: { Value: true } }))
  return { vpc, subnets }
}

/** A fresh workspace holding the given files (paths may contain folders). */
export function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-e2e-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

export interface Run extends ActionRun {
  /** The calls the action made (not the DNS updater's, not the test's). */
  calls: CallRecord[]
}

export const writesOf = (calls: readonly CallRecord[]): CallRecord[] => calls.filter((c) => c.kind === 'write')
export const readsOf = (calls: readonly CallRecord[]): CallRecord[] => calls.filter((c) => c.kind === 'read')
export const operations = (calls: readonly CallRecord[]): string[] =>
  calls.map((c) => `${c.operation}${c.errorCode ? ` (${c.errorCode})` : ''}`)

export interface ActionArgs {
  emulator: Emulator
  workspace: string
  region: string
  inputs: Record<string, string>
  /** Kill the action (SIGKILL, as a runner that lost its machine) once it has made a call this matches, before it sees the answer. */
  killAt?: (call: CallRecord) => boolean
  /** Extra environment for the run (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_API_URL, ...). */
  env?: Record<string, string>
  /** false: start at once, while instances launch and refreshes run (default: wait for the emulator to settle). */
  idle?: boolean
  /**
   * Run as a role session (roleSession's credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
   * AWS_SESSION_TOKEN); default: ACTION_KEY alone, which the emulator allows everything.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
}

/** The environment that hands the action its credentials, and the caller the call log records for them (a session's access key id). */
function credentialsOf(args: ActionArgs): { env: Record<string, string>; caller: string } {
  const c = args.credentials
  if (!c) return { env: { AWS_ACCESS_KEY_ID: ACTION_KEY }, caller: ACTION_KEY }
  return {
    env: {
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      ...(c.sessionToken ? { AWS_SESSION_TOKEN: c.sessionToken } : {})
    },
    caller: c.accessKeyId
  }
}

/**
 * Runs the bundled action once, after the emulator's background work has settled, and returns
 * its result with the calls it made. A run that exits with another code than `expectCode` throws
 * with its output (`null`: any code).
 */
export async function action(args: ActionArgs, expectCode: number | null = 0): Promise<Run> {
  if (args.idle !== false) await args.emulator.waitIdle()
  args.emulator.resetCalls()
  const abort = new AbortController()
  const { killAt } = args
  const { env: credentials, caller } = credentialsOf(args)
  const unsubscribe = killAt
    ? args.emulator.onCall((call) => {
        if (call.caller === caller && killAt(call)) abort.abort()
      })
    : undefined
  const run = await runAction({
    inputs: args.inputs,
    workspace: args.workspace,
    env: {
      ...args.env,
      AWS_ENDPOINT_URL: args.emulator.endpoint,
      AWS_REGION: args.region,
      ...credentials
    },
    signal: abort.signal
  }).finally(() => unsubscribe?.())
  const calls = args.emulator.calls().filter((c) => c.caller === caller)
  if (expectCode !== null && run.code !== expectCode) {
    throw new Error(
      `the action exited ${run.code} (expected ${expectCode})\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
    )
  }
  return { ...run, calls }
}

// ------------------------------------------------------------------ what exists

export interface InstanceView {
  id: string
  state: string
  ip?: string
  service: string
  spot: boolean
  launchTemplateVersion?: string
}

export interface GroupView {
  name: string
  min: number
  max: number
  desired: number
  launchTemplateId?: string
  launchTemplateVersion?: string
  /** OnDemandPercentageAboveBaseCapacity of a mixed instances policy. */
  onDemandPercent?: number
  instances: { id: string; version?: string; lifecycleState?: string }[]
}

export interface StackView {
  /** Instances carrying the stack's tags that are pending or running. */
  instances: InstanceView[]
  groups: Map<string, GroupView>
  launchTemplates: { id: string; name: string; defaultVersion: number; latestVersion: number }[]
  securityGroups: { id: string; name: string }[]
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value
}

const stackFilters = (scope: StackScope): { Name: string; Values: string[] }[] => [
  { Name: `tag:${TAGS.project}`, Values: [scope.project] },
  { Name: `tag:${TAGS.stack}`, Values: [scope.stack] }
]

function groupView(g: AutoScalingGroup): GroupView {
  const spec = g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification ?? g.LaunchTemplate
  const percent = g.MixedInstancesPolicy?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity
  return {
    name: g.AutoScalingGroupName ?? '',
    min: g.MinSize ?? -1,
    max: g.MaxSize ?? -1,
    desired: g.DesiredCapacity ?? -1,
    ...(spec?.LaunchTemplateId ? { launchTemplateId: spec.LaunchTemplateId } : {}),
    ...(spec?.Version ? { launchTemplateVersion: spec.Version } : {}),
    ...(percent !== undefined ? { onDemandPercent: percent } : {}),
    instances: (g.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? '',
      ...(i.LaunchTemplate?.Version ? { version: i.LaunchTemplate.Version } : {}),
      ...(i.LifecycleState ? { lifecycleState: i.LifecycleState } : {})
    }))
  }
}

export async function stackView(aws: Aws, scope: StackScope): Promise<StackView> {
  const filters = stackFilters(scope)
  const [instances, groups, templates, securityGroups] = await Promise.all([
    aws.ec2.send(
      new DescribeInstancesCommand({
        Filters: [...filters, { Name: 'instance-state-name', Values: ['pending', 'running'] }]
      })
    ),
    aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({ Filters: filters })),
    aws.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: filters })),
    aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))
  ])
  return {
    instances: (instances.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => ({
        id: i.InstanceId ?? '',
        state: i.State?.Name ?? '',
        ...(i.PrivateIpAddress ? { ip: i.PrivateIpAddress } : {}),
        service: tag(i, TAGS.service) ?? '',
        spot: i.InstanceLifecycle === 'spot',
        ...(tag(i, 'aws:ec2launchtemplate:version')
          ? { launchTemplateVersion: tag(i, 'aws:ec2launchtemplate:version') }
          : {})
      })),
    groups: new Map((groups.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName ?? '', groupView(g)])),
    launchTemplates: (templates.LaunchTemplates ?? []).map((t) => ({
      id: t.LaunchTemplateId ?? '',
      name: t.LaunchTemplateName ?? '',
      defaultVersion: t.DefaultVersionNumber ?? 0,
      latestVersion: t.LatestVersionNumber ?? 0
    })),
    securityGroups: (securityGroups.SecurityGroups ?? []).map((g) => ({ id: g.GroupId ?? '', name: g.GroupName ?? '' }))
  }
}

/** Sorted private IPs of the stack's running instances of one service. */
export function runningIps(view: StackView, service: string): string[] {
  return view.instances
    .filter((i) => i.service === service && i.state === 'running' && i.ip)
    .map((i) => i.ip ?? '')
    .sort()
}

export function decodedUserData(userData: string | undefined): string {
  return Buffer.from(userData ?? '', 'base64').toString()
}

/** The configuration (agent/config.ts) the instances of a template version read: the version its user data names. */
export async function launchedConfig(aws: Aws, userData: string | undefined): Promise<AgentConfig | undefined> {
  const name = /^HYPERFORM_CONFIG=(\S+)$/m.exec(decodedUserData(userData))?.[1]
  if (!name) return undefined
  const out = await aws.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
  return JSON.parse(out.Parameter?.Value ?? '{}') as AgentConfig
}

export async function launchTemplateVersion(
  aws: Aws,
  templateId: string,
  version: string
): Promise<LaunchTemplateVersion | undefined> {
  const out = await aws.ec2.send(
    new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: [version] })
  )
  return out.LaunchTemplateVersions?.[0]
}

export interface ProjectView {
  /** Private zones named `<project>.<region>.internal`. */
  zones: { id: string; name: string }[]
  functions: string[]
  rules: string[]
  logGroups: string[]
  role: boolean
}

async function roleExists(aws: Aws, name: string): Promise<boolean> {
  try {
    await aws.iam.send(new GetRoleCommand({ RoleName: name }))
    return true
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchEntityException') return false
    throw err
  }
}

export async function projectView(aws: Aws, scope: ProjectScope): Promise<ProjectView> {
  const zone = `${zoneName(scope)}.`
  const [zones, functions, rules, logGroups, role] = await Promise.all([
    aws.route53.send(new ListHostedZonesCommand({})),
    aws.lambda.send(new ListFunctionsCommand({})),
    aws.events.send(new ListRulesCommand({ NamePrefix: ruleName(scope) })),
    aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroupName(scope) })),
    roleExists(aws, roleName(scope))
  ])
  return {
    zones: (zones.HostedZones ?? [])
      .filter((z) => z.Name === zone)
      .map((z) => ({ id: (z.Id ?? '').replace(/^\/hostedzone\//, ''), name: z.Name ?? '' })),
    functions: (functions.Functions ?? []).map((f) => f.FunctionName ?? '').filter((n) => n === functionName(scope)),
    rules: (rules.Rules ?? []).map((r) => r.Name ?? '').filter((n) => n === ruleName(scope)),
    logGroups: (logGroups.logGroups ?? []).map((g) => g.logGroupName ?? '').filter((n) => n === logGroupName(scope)),
    role
  }
}

/** A records of a zone: name without the trailing dot -> sorted values. */
export async function aRecords(aws: Aws, zoneId: string): Promise<Map<string, string[]>> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))
  return new Map(
    (out.ResourceRecordSets ?? [])
      .filter((r) => r.Type === 'A')
      .map((r) => [(r.Name ?? '').replace(/\.$/, ''), (r.ResourceRecords ?? []).map((v) => v.Value ?? '').sort()])
  )
}

/** Every record set of the zone but its apex SOA and NS, as `name TYPE` (names without the trailing dot), sorted. */
export async function zoneRecordSets(aws: Aws, zoneId: string): Promise<string[]> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))
  return (out.ResourceRecordSets ?? [])
    .filter((r) => r.Type !== 'SOA' && r.Type !== 'NS')
    .map((r) => `${(r.Name ?? '').replace(/\.$/, '')} ${r.Type ?? ''}`)
    .sort()
}

/** Polls `check` until it returns a value, or throws `describe()` after timeoutMs. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  describe: () => Promise<string>,
  timeoutMs = 20_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms: ${await describe()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
