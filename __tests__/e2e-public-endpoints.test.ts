/**
 * End to end, public endpoints: the bundled action runs on pull request events with the `domain`
 * input against the in-process emulator (Elastic Load Balancing v2, ACM, a public Route 53 zone)
 * and a stand-in for the GitHub API. The seed example with wordpress public gets
 * https://wordpress.pr-7.preview.example.com: an alias record to the project's load balancer, a
 * host rule forwarding to a target group in which both wordpress instances are healthy, and a
 * comment starting with the URL. A second pull request shares the load balancer; closing both
 * removes everything, the load balancer and certificate last.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet
} from '@aws-sdk/client-route-53'
import {
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type Rule
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { ACMClient, ListCertificatesCommand } from '@aws-sdk/client-acm'
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { loadBalancerName, type StackScope } from '../src/names.js'
import {
  action,
  awsClients,
  destroyAws,
  operations,
  runningIps,
  stackView,
  until,
  workspace,
  writesOf,
  type Aws,
  type Run
} from './helpers/e2e.js'
import type { CallRecord } from '../emulator/types.js'
import { startFakeGitHub, type FakeGitHub } from './helpers/github-api.js'

const REGION = 'us-east-1'
const REPO = 'octo-org/shop'
const DOMAIN = 'preview.example.com'
const PROJECT = 'prj-public'
const SEED = readFileSync(fileURLToPath(new URL('../examples/wordpress/compose.yaml', import.meta.url)), 'utf8')
/** The seed example with wordpress public. */
const PUBLIC_COMPOSE = SEED.replace(
  '     deploy:\n       replicas: 2\n',
  '     deploy:\n       replicas: 2\n       public: true\n'
)
const TOKEN = 'ghs_publicTestToken'
const stack = (pr: number): StackScope => ({ project: PROJECT, stack: `pr-${pr}`, region: REGION })
const host = (pr: number): string => `wordpress.pr-${pr}.${DOMAIN}`

let emulator: Emulator
let aws: Aws
let elb: ElasticLoadBalancingV2Client
let acm: ACMClient
let api: FakeGitHub
let zoneId = ''
const work = workspace({ 'compose.yaml': PUBLIC_COMPOSE })
const events = mkdtempSync(path.join(tmpdir(), 'hyperform-events-'))

function event(action: string, number: number): Record<string, string> {
  const file = path.join(events, `${number}-${action}.json`)
  const repo = { id: 1, name: 'shop', full_name: REPO, private: false, fork: false, owner: { login: 'octo-org' } }
  writeFileSync(
    file,
    JSON.stringify({
      action,
      number,
      pull_request: {
        number,
        state: action === 'closed' ? 'closed' : 'open',
        head: { ref: 'feature', sha: 'a'.repeat(40), repo },
        base: { ref: 'main', sha: 'b'.repeat(40), repo }
      },
      repository: repo,
      sender: { login: 'octo-org' }
    })
  )
  return {
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: file,
    GITHUB_API_URL: api.url,
    GITHUB_REPOSITORY: REPO
  }
}

function run(
  pr: number,
  args: { action?: string; inputs?: Record<string, string>; killAt?: (call: CallRecord) => boolean } = {},
  code = 0
): Promise<Run> {
  const inputs = {
    project: PROJECT,
    region: REGION,
    domain: DOMAIN,
    'github-token': TOKEN,
    wait: 'true',
    'wait-timeout': '90',
    ...args.inputs
  }
  const env = event(args.action ?? 'opened', pr)
  const killAt = args.killAt
  return action({ emulator, region: REGION, workspace: work, inputs, env, ...(killAt ? { killAt } : {}) }, code)
}

async function publicRecords(): Promise<ResourceRecordSet[]> {
  const out = await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))
  return out.ResourceRecordSets ?? []
}

async function loadBalancers(): Promise<Array<{ arn: string; dnsName: string }>> {
  try {
    const out = await elb.send(new DescribeLoadBalancersCommand({ Names: [loadBalancerName(stack(7))] }))
    return (out.LoadBalancers ?? []).map((l) => ({ arn: l.LoadBalancerArn ?? '', dnsName: l.DNSName ?? '' }))
  } catch (err) {
    if ((err as { name?: string }).name === 'LoadBalancerNotFoundException') return []
    throw err
  }
}

async function httpsRules(): Promise<Rule[]> {
  const [lb] = await loadBalancers()
  const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb?.arn }))).Listeners ?? []
  const https = listeners.find((l) => l.Protocol === 'HTTPS')
  const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: https?.ListenerArn }))).Rules ?? []
  return rules.filter((r) => !r.IsDefault)
}

const hostOf = (rule: Rule): string | undefined =>
  rule.Conditions?.find((c) => c.Field === 'host-header')?.HostHeaderConfig?.Values?.[0]

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: {
      launchDelayMs: 30,
      terminateDelayMs: 30,
      functionPendingMs: 30,
      sqsTimeScale: 0.05,
      elbTimeScale: 0.01,
      acmValidationRecordMs: 50
    }
  })
  aws = awsClients(emulator, REGION)
  elb = aws.elb
  acm = aws.acm
  api = await startFakeGitHub()
  const zone = await aws.route53.send(new CreateHostedZoneCommand({ Name: DOMAIN, CallerReference: 'public-zone' }))
  zoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '')
})

afterAll(async () => {
  destroyAws(aws)
  await api.close()
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
  rmSync(events, { recursive: true, force: true })
})

describe('public endpoints behind the project load balancer', () => {
  test('a domain without a public zone in the account stops the run before any write, naming the input', async () => {
    const result = await run(7, { inputs: { domain: 'nowhere.example.com' } }, 1)
    expect(operations(writesOf(result.calls))).toEqual([])
    expect(result.stdout).toContain('Input "domain": no public hosted zone nowhere.example.com in this account')
  })

  test('pull request 7 gets https://wordpress.pr-7.preview.example.com: alias, host rule, healthy targets, the comment starts with it', async () => {
    const result = await run(7)
    expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({ wordpress: `https://${host(7)}` })

    const [lb] = await loadBalancers()
    expect(lb).toBeDefined()
    const alias = (await publicRecords()).find((r) => r.Name === `${host(7)}.` && r.Type === 'A')
    expect(alias?.AliasTarget?.DNSName?.replace(/\.$/, '').toLowerCase()).toContain(lb?.dnsName.toLowerCase())

    const rule = (await httpsRules()).find((r) => hostOf(r) === host(7))
    const groupArn = rule?.Actions?.find((a) => a.Type === 'forward')?.TargetGroupArn
    expect(groupArn).toBeDefined()
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn }))
    const healthy = (health.TargetHealthDescriptions ?? []).filter((t) => t.TargetHealth?.State === 'healthy')
    const view = await stackView(aws, stack(7))
    const wordpress = view.instances.filter((i) => i.service === 'wordpress' && i.state === 'running')
    expect(wordpress).toHaveLength(2)
    expect(healthy.map((t) => t.Target?.Id).sort()).toEqual(wordpress.map((i) => i.id).sort())
    expect(runningIps(view, 'wordpress')).toHaveLength(2)

    const comment = api.comments.find((c) => c.issue === 7)?.body ?? ''
    expect(comment.split('\n')[0]).toBe(`**[https://${host(7)}](https://${host(7)})**`)
  })

  test("without a domain a public service's URLs are its instances' own addresses, and no load balancer is made", async () => {
    const bare = { project: 'prj-bare', stack: 'pr-9', region: REGION }
    const result = await run(9, { inputs: { domain: '', project: bare.project } })
    const view = await stackView(aws, bare)
    const ids = view.instances.filter((i) => i.service === 'wordpress' && i.state === 'running').map((i) => i.id)
    const described = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))
    const addresses = (described.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.PublicIpAddress)
    expect(addresses).toHaveLength(2)
    for (const ip of addresses) expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({
      wordpress: addresses.map((ip) => `http://${ip}:80`).sort()
    })
    expect(result.summary).toContain('they change when instances are replaced')
    expect(operations(result.calls).filter((op) => /LoadBalancer|Certificate|TargetGroup/.test(op))).toEqual([
      'DescribeLoadBalancers (LoadBalancerNotFound)'
    ])
    await run(9, { action: 'closed', inputs: { domain: '', project: bare.project } })
  })

  test('a re-run with nothing changed makes no write', async () => {
    const result = await run(7, { action: 'synchronize' })
    expect(operations(writesOf(result.calls))).toEqual([])
    expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({ wordpress: `https://${host(7)}` })
  })

  test('a rule and an alias record deleted by hand are reported as drift by plan and healed by deploy', async () => {
    const rule = (await httpsRules()).find((r) => hostOf(r) === host(7))
    await elb.send(new DeleteRuleCommand({ RuleArn: rule?.RuleArn }))
    const alias = (await publicRecords()).find((r) => r.Name === `${host(7)}.` && r.Type === 'A')
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: alias }] }
      })
    )
    const plan = await run(7, { action: 'synchronize', inputs: { command: 'plan' } })
    expect(plan.outputs['drift-detected']).toBe('true')
    expect(operations(writesOf(plan.calls))).toEqual([])
    const summary = JSON.parse(plan.outputs.summary ?? '{}') as { drift: Array<{ kind: string }> }
    expect(summary.drift.map((d) => d.kind).sort()).toEqual(['alias-record', 'listener-rule'])

    const healed = await run(7, { action: 'synchronize' })
    expect(operations(writesOf(healed.calls)).sort()).toEqual(['ChangeResourceRecordSets', 'CreateRule'])
    expect((await httpsRules()).map(hostOf)).toContain(host(7))
    expect((await publicRecords()).some((r) => r.Name === `${host(7)}.`)).toBe(true)
  })

  test('pull request 8 adds its own rule and target group to the same load balancer', async () => {
    const result = await run(8)
    expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({ wordpress: `https://${host(8)}` })
    expect(await loadBalancers()).toHaveLength(1)
    expect((await httpsRules()).map(hostOf).sort()).toEqual([host(7), host(8)])
    expect(operations(writesOf(result.calls))).not.toContain('CreateLoadBalancer')
  })

  test('pull request 8 with no public service left loses its rule, target group, record and certificate; the rest stays', async () => {
    writeFileSync(path.join(work, 'compose.yaml'), SEED)
    try {
      const result = await run(8, { action: 'synchronize' })
      expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({})
      const writes = operations(writesOf(result.calls))
      expect(writes).toEqual(
        expect.arrayContaining([
          'DeleteRule',
          'DeleteTargetGroup',
          'DetachLoadBalancerTargetGroups',
          'DeleteCertificate'
        ])
      )
      expect(writes).not.toContain('DeleteLoadBalancer')
    } finally {
      writeFileSync(path.join(work, 'compose.yaml'), PUBLIC_COMPOSE)
    }
    expect((await httpsRules()).map(hostOf)).toEqual([host(7)])
    expect((await publicRecords()).some((r) => r.Name === `${host(8)}.`)).toBe(false)
    const certificates = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList ?? []
    expect(certificates.map((c) => c.DomainName).sort()).toEqual([`*.pr-7.${DOMAIN}`, `*.${DOMAIN}`])
  })

  test('a spot warning takes the warned wordpress instance out of its target group at once, and its replacement becomes a healthy target', async () => {
    const spot = (await stackView(aws, stack(7))).instances.find(
      (i) => i.service === 'wordpress' && i.spot && i.state === 'running'
    )
    const rule = (await httpsRules()).find((r) => hostOf(r) === host(7))
    const groupArn = rule?.Actions?.find((a) => a.Type === 'forward')?.TargetGroupArn
    const targets = async (): Promise<Array<{ id: string; state: string }>> =>
      (
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn }))).TargetHealthDescriptions ?? []
      ).map((t) => ({ id: t.Target?.Id ?? '', state: t.TargetHealth?.State ?? '' }))
    expect(await targets()).toContainEqual({ id: spot?.id, state: 'healthy' })

    await new EmulatorClient(emulator.endpoint).spotInterrupt(spot?.id ?? '')
    // out of service at once: draining (the deregistration delay), then gone
    await until(
      async () => ((await targets()).some((t) => t.id === spot?.id && t.state === 'healthy') ? undefined : true),
      async () => `targets ${JSON.stringify(await targets())}`
    )
    await until(
      async () => {
        const healthy = (await targets()).filter((t) => t.state === 'healthy')
        return healthy.length === 2 && !healthy.some((t) => t.id === spot?.id) ? true : undefined
      },
      async () => `targets ${JSON.stringify(await targets())}`
    )
    // the warned instance still runs: its reclaim is two minutes away
    const warned = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [spot?.id ?? ''] }))
    expect(warned.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('running')
    // EC2 may reclaim before the two minutes are up: it goes now, and the tests after this one need not wait for it
    emulator.terminateInstance(spot?.id ?? '')
  })

  test('closing both removes everything: rules, target groups, records, certificates, and the load balancer last', async () => {
    await run(8, { action: 'closed' })
    expect((await httpsRules()).map(hostOf)).toEqual([host(7)])
    expect(await loadBalancers()).toHaveLength(1)

    const last = await run(7, { action: 'closed' })
    expect(await loadBalancers()).toEqual([])
    const groups = await elb.send(new DescribeTargetGroupsCommand({}))
    expect(groups.TargetGroups ?? []).toEqual([])
    const records = await publicRecords()
    expect(records.filter((r) => r.Type !== 'NS' && r.Type !== 'SOA')).toEqual([])
    expect((await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList ?? []).toEqual([])
    const order = operations(writesOf(last.calls))
    const at = (op: string): number => order.lastIndexOf(op)
    expect(at('DeleteRule')).toBeLessThan(at('DeleteListener'))
    expect(at('DeleteTargetGroup')).toBeLessThan(at('DeleteLoadBalancer'))
    expect(at('DeleteListener')).toBeLessThan(at('DeleteLoadBalancer'))
    expect(at('DeleteCertificate')).toBeGreaterThan(at('DeleteListener'))
  })

  test('a first public deploy killed at its certificate, its load balancer and its rule, run again, ends with one of each', async () => {
    const killedAt = async (operation: string): Promise<void> => {
      await run(11, { killAt: (call) => call.operation === operation }, 137)
    }
    await killedAt('RequestCertificate')
    await killedAt('CreateLoadBalancer')
    await killedAt('CreateRule')
    const result = await run(11)
    expect(JSON.parse(result.outputs.urls ?? '{}')).toEqual({ wordpress: `https://${host(11)}` })
    expect(await loadBalancers()).toHaveLength(1)
    expect((await httpsRules()).map(hostOf)).toEqual([host(11)])
    const groups = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []
    expect(groups).toHaveLength(1)
    const certificates = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList ?? []
    expect(certificates.map((c) => c.DomainName).sort()).toEqual([`*.pr-11.${DOMAIN}`, `*.${DOMAIN}`])
    const aliases = (await publicRecords()).filter((r) => r.Type === 'A')
    expect(aliases.map((r) => r.Name)).toEqual([`${host(11)}.`])
    expect(operations(writesOf((await run(11, { action: 'synchronize' })).calls))).toEqual([])

    await run(11, { action: 'closed' })
    expect(await loadBalancers()).toEqual([])
    expect((await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList ?? []).toEqual([])
  })
})
