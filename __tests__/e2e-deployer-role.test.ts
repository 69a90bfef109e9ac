/**
 * End to end, least privilege proven: the bundled action runs as a role session of a role that
 * has exactly docs/deployer-policy.json (as the README tells users to create it, account and
 * partition wildcards included; without docs/deployer-policy-public-endpoints.json, which only the
 * domain input needs and engine-load-balancer.test.ts runs its kinds with), through everything the README promises it covers: a deploy of
 * the seed example, a re-run, a plan, a deploy that heals drift made by hand, a pull-request
 * preview stack and its destroy, a stack in a VPC of its own (the zone associated with it) and its
 * destroy, and the destroy of the main stack. Nothing is denied. Then each
 * statement of the policy is removed in turn and the part of that flow that needs it fails with
 * an access-denied error the action explains.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2'
import { RemoveTargetsCommand } from '@aws-sdk/client-eventbridge'
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DeleteRoleCommand, DeleteRolePolicyCommand } from '@aws-sdk/client-iam'
import { RequestCertificateCommand } from '@aws-sdk/client-acm'
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import { roleSession, type SdkTestConfig } from '../emulator/testing.js'
import {
  asgName,
  launchTemplateName,
  logGroupName,
  recordName,
  ROLE_POLICY_NAME,
  roleName,
  RULE_TARGET_ID,
  ruleName,
  securityGroupName,
  type StackScope
} from '../src/names.js'
import { AUTOSCALING_SERVICE_LINKED_ROLE, ensureServiceLinkedRole } from '../emulator/services/iam/service-linked.js'
import {
  action,
  operations,
  projectView,
  seedSuite,
  startSeedSuite,
  stackView,
  writesOf,
  type Run,
  type SeedSuite,
  defaultVersionByHand,
  publicVpc,
  SEED_COMPOSE
} from './helpers/e2e.js'
import { buildxStandIn, type BuildxStandIn } from './helpers/buildx-stand-in.js'

const REGION = 'us-east-1'
const POLICY_TEXT = readFileSync(fileURLToPath(new URL('../docs/deployer-policy.json', import.meta.url)), 'utf8')
interface Statement {
  Sid: string
  Action: string | string[]
}
const POLICY = JSON.parse(POLICY_TEXT) as { Version: string; Statement: Statement[] }
const DENIED = /AccessDenied|UnauthorizedOperation/

/**
 * The instance stand-in passes a healthy container through the launch gate after 20 ms (default
 * 500): the runs wait for instances in service, and with fewer, shorter waits.
 */
const SIMULATION = { containerSettleMs: 20 }

/** The emulated account of the first test; each statement's test has an account of its own (see below). */
const shared = seedSuite(REGION, SIMULATION)

/** A session of a role with exactly the policy, or the policy without statement `without` (as GitHub's OIDC step would hand it over). */
function deployer(suite: SeedSuite, without?: string): Promise<SdkTestConfig> {
  const policy = without ? { ...POLICY, Statement: POLICY.Statement.filter((s) => s.Sid !== without) } : POLICY_TEXT
  const name = without ? `deployer-without-${POLICY.Statement.findIndex((s) => s.Sid === without)}` : 'deployer'
  return roleSession(suite.emulator, { roleName: name, policy, sessionName: 'GitHubActions' })
}

/** The calls of the run that were answered access denied. */
const deniedCalls = (result: Run): string[] => operations(result.calls.filter((c) => DENIED.test(c.errorCode ?? '')))

/** One run of the action in `suite`'s account, whatever its exit code. */
/**
 * The seed example with db's data on a named volume and a `web` service built from `./app`, so the
 * flows also make, keep, snapshot and delete volumes and build and push an image (with the runner's
 * docker stand-in, which pushes through ECR's PutImage as the step's credentials).
 */
const WORKSPACE_COMPOSE = `${SEED_COMPOSE.replace(
  '     image: mysql:5.7\n',
  '     image: mysql:5.7\n     volumes:\n       - db-data:/var/lib/mysql\n'
)}
   web:
     build: ./app
volumes:
  db-data:
`
const dockers = new WeakMap<SeedSuite, BuildxStandIn>()

function dockerOf(suite: SeedSuite): BuildxStandIn {
  let docker = dockers.get(suite)
  if (!docker) {
    writeFileSync(path.join(suite.work, 'compose.yaml'), WORKSPACE_COMPOSE)
    mkdirSync(path.join(suite.work, 'app'), { recursive: true })
    writeFileSync(path.join(suite.work, 'app', 'Dockerfile'), 'FROM nginx:1.27\n')
    docker = buildxStandIn(mkdtempSync(path.join(tmpdir(), 'hyperform-deployer-docker-')))
    dockers.set(suite, docker)
  }
  return docker
}

function run(
  suite: SeedSuite,
  scope: StackScope,
  session: SdkTestConfig,
  extra: Record<string, string> = {}
): Promise<Run> {
  const inputs = {
    project: scope.project,
    stack: scope.stack,
    region: REGION,
    'compose-file': 'compose.yaml',
    wait: 'true',
    'wait-timeout': '60',
    ...extra
  }
  return action(
    {
      emulator: suite.emulator,
      region: REGION,
      workspace: suite.work,
      inputs,
      credentials: session.credentials,
      env: dockerOf(suite).env
    },
    null
  )
}

/** Changes made by hand (admin credentials) that a deploy heals. */
async function makeDrift(suite: SeedSuite, scope: StackScope): Promise<void> {
  const { aws } = suite
  const view = await stackView(aws, scope)
  const zone = (await projectView(aws, scope)).zones[0]?.id ?? ''
  await aws.events.send(new RemoveTargetsCommand({ Rule: ruleName(scope), Ids: [RULE_TARGET_ID] }))
  await aws.logs.send(new DeleteLogGroupCommand({ logGroupName: logGroupName(scope) }))
  await aws.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName(scope), PolicyName: ROLE_POLICY_NAME }))
  await aws.autoScaling.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: asgName(scope, 'db', 'spot'),
      MinSize: 0,
      MaxSize: 2,
      DesiredCapacity: 1
    })
  )
  await defaultVersionByHand(
    aws,
    view.launchTemplates.find((t) => t.name === launchTemplateName(scope, 'wordpress')),
    't3.xlarge'
  )
  const sg = view.securityGroups.find((g) => g.name === securityGroupName(scope, 'db'))
  await aws.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: sg?.id,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]
    })
  )
  await suite.emulator.waitIdle()
  await aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: recordName(scope, 'wordpress'),
              Type: 'A',
              TTL: 10,
              ResourceRecords: [{ Value: '10.99.0.1' }]
            }
          }
        ]
      }
    })
  )
}

interface Step {
  name: string
  scope: StackScope
  extra?: Record<string, string>
  /** Hand-made changes before the run; what it returns is added to the inputs. */
  before?: (suite: SeedSuite, scope: StackScope) => Promise<void | Record<string, string>>
}

/** A VPC of the user's own for a stack, made by hand: the stack's first deploy associates the zone with it. */
async function ownVpc(suite: SeedSuite): Promise<Record<string, string>> {
  const { vpc, subnets } = await publicVpc(suite.aws, REGION, '10.40')
  return { 'vpc-id': vpc, 'subnet-ids': subnets.join(',') }
}

/**
 * Everything the README says the policy covers, for one project: deploy, re-run, plan, drift heal,
 * a preview and its destroy, a stack in a VPC of its own and its destroy, destroy.
 */
function flow(project: string): Step[] {
  const main: StackScope = { project, stack: 'st-wordpress', region: REGION }
  const preview: StackScope = { ...main, stack: 'pr-7' }
  const elsewhere: StackScope = { ...main, stack: 'st-own-vpc' }
  let vpc: Record<string, string> = {}
  return [
    { name: 'deploy', scope: main },
    { name: 're-run', scope: main },
    { name: 'plan', scope: main, extra: { command: 'plan' } },
    { name: 'drift heal', scope: main, before: makeDrift },
    { name: 'preview deploy', scope: preview },
    { name: 'preview destroy', scope: preview, extra: { command: 'destroy' } },
    { name: 'own-VPC deploy', scope: elsewhere, before: async (suite) => (vpc = await ownVpc(suite)) },
    { name: 'own-VPC destroy', scope: elsewhere, before: async () => ({ ...vpc, command: 'destroy' }) },
    { name: 'destroy', scope: main, extra: { command: 'destroy', 'volumes-on-destroy': 'snapshot' } }
  ]
}

/** Runs the steps in order until one exits non-zero; every run made, the last one failed if any did. */
async function runFlow(suite: SeedSuite, steps: Step[], session: SdkTestConfig): Promise<{ step: Step; run: Run }[]> {
  const done: { step: Step; run: Run }[] = []
  for (const step of steps) {
    const given = await step.before?.(suite, step.scope)
    const result = await run(suite, step.scope, session, { ...step.extra, ...given })
    done.push({ step, run: result })
    if (result.code !== 0) break
  }
  return done
}

/** The actions a statement allows. */
const actionsOf = (sid: string): string[] => [POLICY.Statement.find((s) => s.Sid === sid)?.Action ?? []].flat()

describe('the deployer role with exactly docs/deployer-policy.json', () => {
  test('deploys the seed example, re-runs with no writes, plans, heals drift, previews and destroys, and is never denied', async () => {
    const done = await runFlow(shared, flow('prj-demo'), await deployer(shared))
    expect(done.map(({ step, run }) => `${step.name}: ${run.code}`)).toEqual(
      flow('prj-demo').map((step) => `${step.name}: 0`)
    )
    for (const { run } of done) expect(deniedCalls(run)).toEqual([])
    const runs = Object.fromEntries(done.map(({ step, run }) => [step.name, run]))
    expect(Object.keys(JSON.parse(runs.deploy?.outputs['dns-names'] ?? '{}') as object).sort()).toEqual([
      'db',
      'web',
      'wordpress'
    ])
    // the volume was made, and the last destroy snapshotted it, then deleted it
    expect(operations(writesOf(runs.deploy?.calls ?? []))).toEqual(
      expect.arrayContaining(['CreateVolume', 'CreateRepository'])
    )
    expect(operations(writesOf(runs.destroy?.calls ?? []))).toEqual(
      expect.arrayContaining(['CreateSnapshot', 'DeleteVolume'])
    )
    expect(runs['preview deploy']?.outputs.stack).toBe('pr-7')
    expect(operations(writesOf(runs['re-run']?.calls ?? []))).toEqual([])
    expect(operations(writesOf(runs.plan?.calls ?? []))).toEqual([])
    expect(runs['drift heal']?.outputs['drift-detected']).toBe('true')
    const scope = { project: 'prj-demo', stack: 'st-wordpress', region: REGION }
    expect((await stackView(shared.aws, scope)).groups.size).toBe(0)
    expect(await projectView(shared.aws, scope)).toEqual({
      zones: [],
      functions: [],
      rules: [],
      logGroups: [],
      role: false
    })
    // nine runs of the action, a volume and a build among them, on a machine other suites share
  }, 300_000)
})

/**
 * The permission the action names when a statement is missing, where it is not one of the
 * statement's own: Auto Scaling refuses a group whose launches its caller may not tag with
 * "You are not authorized to use launch template", naming no permission.
 */
const NAMED_AS: Record<string, string> = { TagInstancesAndVolumesAsTheyLaunch: 'ec2:RunInstances' }

/** What a statement's flow starts from, when not from the state the earlier tests left. */
const STARTING_FROM: Record<string, (suite: SeedSuite) => Promise<void>> = {
  // a fresh account: no group made Auto Scaling create its service-linked role yet
  AutoScalingServiceLinkedRoleOnAFreshAccount: async (suite) => {
    await suite.aws.iam.send(new DeleteRoleCommand({ RoleName: 'AWSServiceRoleForAutoScaling' }))
  },
  // an account with a wildcard certificate of someone else's: a destroy reads its tags to tell
  // whether it is the project's (with no certificate at all, it reads none)
  ReadCertificateTagsToFindTheProjectsOnDestroy: async (suite) => {
    await suite.aws.acm.send(
      new RequestCertificateCommand({
        DomainName: '*.other.example.org',
        SubjectAlternativeNames: ['other.example.org'],
        ValidationMethod: 'DNS'
      })
    )
  }
}

/**
 * Each statement's flow runs in an emulated account of its own, so the flows run at the same time
 * (each mostly waits on its runs and their instances). The account is as the earlier tests leave
 * theirs: Auto Scaling has made its service-linked role (on the account's first group).
 */
async function statementAccount<T>(test: (suite: SeedSuite) => Promise<T>): Promise<T> {
  const suite = await startSeedSuite(REGION, SIMULATION)
  try {
    ensureServiceLinkedRole(suite.emulator.cloud, AUTOSCALING_SERVICE_LINKED_ROLE)
    return await test(suite)
  } finally {
    await suite.stop()
  }
}

const ANNOTATION = /^::error title=Missing AWS permission%3A ([^:]+)::(.*)$/

describe('each statement of docs/deployer-policy.json', () => {
  const needed = POLICY.Statement.map((s) => s.Sid)
  test.concurrent.each(needed.map((sid, i) => [sid, i] as const))(
    '%s is needed: without it a run of the flow is denied, and the action names a permission of the statement and points at the policy',
    (sid, i) =>
      statementAccount(async (suite) => {
        await STARTING_FROM[sid]?.(suite)
        const done = await runFlow(suite, flow(`prj-without-${i}`), await deployer(suite, sid))
        const last = done[done.length - 1]
        expect(last?.run.code).toBe(1)
        expect(deniedCalls(last?.run as Run)).not.toEqual([])
        const annotations = (last?.run.stdout ?? '').split('\n').flatMap((line) => {
          const m = ANNOTATION.exec(line)
          return m ? [{ action: decodeURIComponent(m[1] ?? ''), text: m[2] ?? '' }] : []
        })
        const named = annotations.map((a) => a.action)
        const expected = NAMED_AS[sid] ? [NAMED_AS[sid]] : actionsOf(sid)
        expect(named.filter((action) => expected.includes(action))).not.toEqual([])
        for (const a of annotations) expect(a.text).toContain('docs/deployer-policy.json')
        expect(last?.run.summary).toContain('## AWS access denied')
      }),
    // several flows share the machine at once: each may take longer than alone
    300_000
  )
})
