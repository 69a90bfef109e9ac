/**
 * The public endpoints' certificates and alias records through the engine, against the in-process
 * emulator with real SDK clients: read -> diff -> applyPlan -> read (all noop, zero writes), drift
 * healed, a run killed after its certificate request converging without a second certificate, and
 * destroy (the project's certificate only with the last stack, while the listener lets go of it).
 * The load balancer and its HTTPS listener are made by stand-ins for their kinds (written elsewhere):
 * their apply is replaced by one that creates them with the ELBv2 SDK.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import {
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  RequestCertificateCommand
} from '@aws-sdk/client-acm'
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2'
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  RemoveListenerCertificatesCommand
} from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet
} from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { applyPlan } from '../src/apply.js'
import { idempotencyToken, requestAndValidate } from '../src/aws/certificates.js'
import { Engine } from '../src/aws/engine.js'
import { createClients, destroyClients, type Clients } from '../src/aws/clients.js'
import { readCurrent } from '../src/current.js'
import { buildDesired } from '../src/desired.js'
import { loadBalancerName, type StackScope } from '../src/names.js'
import { destroyPlan } from '../src/plan.js'
import { aliasRecord } from '../src/resources/alias-record.js'
import { certificate } from '../src/resources/certificate.js'
import { tagList, type DiffContext, type KindOps } from '../src/resources/kind.js'
import { listener, type ListenerRef } from '../src/resources/listener.js'
import { loadBalancer, type LoadBalancerRef } from '../src/resources/load-balancer.js'
import { stackCertificate } from '../src/resources/stack-certificate.js'
import type { Change, CurrentState, DesiredState, Plan, PublicZone } from '../src/state.js'
import { inputs, lambdaCode, network, wordpress } from './helpers/deploy-fixtures.js'

const DOMAIN = 'preview.example.com'
const REGION = 'us-east-1'
const ONE: StackScope = { project: 'prj-demo', stack: 'st-wordpress', region: REGION }
const TWO: StackScope = { ...ONE, stack: 'st-two' }
const timing = {
  baseDelayMs: 5,
  maxDelayMs: 40,
  pollMs: 20,
  rolePropagationMs: 2000,
  consistencyMs: 3000,
  teardownMs: 5000
}

let emulator: Emulator
let clients: Clients
let zone: PublicZone
let subnets: string[]
const saved = { ...process.env }
const lines: string[] = []
const log = (line: string): void => {
  lines.push(line)
}

function desiredFor(scope: StackScope): DesiredState {
  const model = wordpress()
  return buildDesired({
    inputs: inputs({ ...scope, domain: DOMAIN }),
    model: { ...model, services: model.services.map((s) => (s.name === 'wordpress' ? { ...s, public: true } : s)) },
    network: { ...network, subnetZones: { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1b' } },
    lambdaCode,
    publicZone: zone
  })
}

// ---------------------------------------------------------------- stand-ins for the ELB kinds

async function findLoadBalancer(): Promise<LoadBalancerRef | undefined> {
  try {
    const out = await clients.elb.send(new DescribeLoadBalancersCommand({ Names: [loadBalancerName(ONE)] }))
    const lb = out.LoadBalancers?.[0]
    return lb
      ? { arn: lb.LoadBalancerArn ?? '', dnsName: lb.DNSName ?? '', canonicalZoneId: lb.CanonicalHostedZoneId ?? '' }
      : undefined
  } catch {
    return undefined
  }
}

async function httpsListener(): Promise<string | undefined> {
  const lb = await findLoadBalancer()
  if (!lb) return undefined
  const out = await clients.elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))
  return out.Listeners?.find((l) => l.Protocol === 'HTTPS')?.ListenerArn
}

async function listenerCertificates(): Promise<string[]> {
  const arn = await httpsListener()
  if (!arn) return []
  const out = await clients.elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: arn }))
  return (out.Certificates ?? []).filter((c) => !c.IsDefault).map((c) => c.CertificateArn ?? '')
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { acmValidationRecordMs: 20, elbTimeScale: 0.001, agentStandIn: false }
  })
  process.env.AWS_ENDPOINT_URL = emulator.endpoint
  process.env.AWS_ACCESS_KEY_ID = 'AKIACERTSTEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'certs'
  process.env.AWS_REGION = REGION
  clients = createClients({ region: REGION, maxAttempts: 3 })
  const created = await clients.route53.send(
    new CreateHostedZoneCommand({ Name: DOMAIN, CallerReference: 'certificates-test' })
  )
  zone = { id: (created.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, ''), name: DOMAIN }
  subnets = ((await clients.ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => s.SubnetId ?? '')

  // The load balancer's kind: creates it once (by name); the listener's: an HTTPS listener serving the project's certificate.
  jest.spyOn(loadBalancer, 'apply').mockImplementation(async () => {
    const found = await findLoadBalancer()
    if (found) return found
    const lb = (
      await clients.elb.send(
        new CreateLoadBalancerCommand({ Name: loadBalancerName(ONE), Subnets: subnets.slice(0, 2) })
      )
    ).LoadBalancers?.[0]
    return {
      arn: lb?.LoadBalancerArn ?? '',
      dnsName: lb?.DNSName ?? '',
      canonicalZoneId: lb?.CanonicalHostedZoneId ?? ''
    }
  })
  jest.spyOn(listener, 'apply').mockImplementation(async (_change, ctx): Promise<ListenerRef> => {
    const [lb, cert] = await Promise.all([ctx.need('load-balancer'), ctx.need('certificate')])
    const existing = await httpsListener()
    if (existing) return { protocol: 'HTTPS', arn: existing }
    const out = await clients.elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.arn,
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: cert }],
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }]
      })
    )
    return { protocol: 'HTTPS', arn: out.Listeners?.[0]?.ListenerArn ?? '' }
  })
})

afterAll(async () => {
  jest.restoreAllMocks()
  destroyClients(clients)
  await emulator.stop()
  process.env = saved
})

/** The current state as a deploy with the domain reads it, plus the load balancer (the stand-in for its kind's read). */
async function read(scope: StackScope): Promise<CurrentState> {
  const current = await readCurrent(clients, scope, { publicZone: zone })
  const lb = await findLoadBalancer()
  if (lb)
    current.loadBalancer = {
      ...lb,
      name: loadBalancerName(scope),
      state: 'active',
      scheme: 'internet-facing',
      subnetIds: [],
      securityGroupIds: []
    }
  return current
}

/** A project or stack kind's diff (the registry's type also has the per-service form). */
function levelDiff<K extends 'certificate' | 'stack-certificate'>(kind: KindOps<K>, ctx: DiffContext): Change[] {
  return kind.level === 'service' ? [] : kind.diff(ctx)
}

/** The plan of the three kinds, with the load balancer and HTTPS listener (noop: their stand-ins hand their outputs). */
function planFor(desired: DesiredState, current: CurrentState): Plan {
  const ctx = { desired, current, planned: [] }
  const pub = desired.public!
  const changes: Change[] = [
    ...levelDiff(certificate, ctx),
    {
      kind: 'load-balancer',
      action: 'noop',
      name: pub.loadBalancer.name,
      reason: 'stand-in',
      desired: pub.loadBalancer
    },
    {
      kind: 'listener',
      action: 'noop',
      name: pub.listeners[0]!.name,
      reason: 'stand-in',
      desired: pub.listeners[0]!
    },
    ...levelDiff(stackCertificate, ctx),
    ...desired.services.flatMap((s) => aliasRecord.diff(ctx, s))
  ]
  return { changes, scope: desired.scope }
}

const active = (plan: Plan): string[] =>
  plan.changes
    .filter((c) => c.action !== 'noop')
    .map((c) => `${c.action} ${c.kind} ${c.name}${c.drift ? ' (drift)' : ''}`)

const writes = (): string[] =>
  emulator
    .calls()
    .filter((c) => c.kind === 'write')
    .map((c) => c.operation)

async function records(): Promise<ResourceRecordSet[]> {
  const out = await clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id }))
  return (out.ResourceRecordSets ?? []).filter((r) => r.Type !== 'NS' && r.Type !== 'SOA')
}

async function certificates(): Promise<Array<{ arn: string; domain: string; status: string }>> {
  const out = await clients.acm.send(new ListCertificatesCommand({}))
  return (out.CertificateSummaryList ?? []).map((c) => ({
    arn: c.CertificateArn ?? '',
    domain: c.DomainName ?? '',
    status: c.Status ?? ''
  }))
}

const host = `wordpress.st-wordpress.${DOMAIN}`

describe('certificates and alias records through the engine', () => {
  const one = (): DesiredState => desiredFor(ONE)

  it('a first deploy requests, validates and serves both certificates and writes the alias record', async () => {
    const desired = one()
    const plan = planFor(desired, await read(ONE))
    expect(active(plan)).toEqual([
      `create certificate *.${DOMAIN}`,
      `create stack-certificate *.st-wordpress.${DOMAIN}`,
      `create alias-record ${host}`
    ])
    const result = await applyPlan(plan, { clients, desired, log, timing })
    expect(result.applied.map((a) => `${a.action} ${a.kind}`).sort()).toEqual([
      'create alias-record',
      'create certificate',
      'create stack-certificate'
    ])

    const certs = await certificates()
    expect(certs.map((c) => [c.domain, c.status]).sort()).toEqual([
      [`*.${DOMAIN}`, 'ISSUED'],
      [`*.st-wordpress.${DOMAIN}`, 'ISSUED']
    ])
    const stack = certs.find((c) => c.domain.startsWith('*.st-wordpress'))!
    expect(await listenerCertificates()).toEqual([stack.arn])

    const lb = (await findLoadBalancer())!
    const sets = await records()
    const alias = sets.find((r) => r.Type === 'A')
    expect(alias).toMatchObject({
      Name: `${host}.`,
      AliasTarget: { HostedZoneId: lb.canonicalZoneId, EvaluateTargetHealth: true }
    })
    expect(alias?.AliasTarget?.DNSName?.replace(/\.$/, '')).toBe(`dualstack.${lb.dnsName}`.toLowerCase())
    // One validation CNAME per certificate: *.<domain> and <domain> share theirs.
    expect(sets.filter((r) => r.Type === 'CNAME')).toHaveLength(2)
  })

  it('a re-run reads all noop and writes nothing', async () => {
    const desired = one()
    const current = await read(ONE)
    expect(current.certificate).toMatchObject({ status: 'ISSUED', alternativeNames: [DOMAIN] })
    expect(current.stackCertificate).toMatchObject({ status: 'ISSUED', attached: true })
    expect(current.aliasRecords).toEqual([expect.objectContaining({ name: host, service: 'wordpress' })])
    const plan = planFor(desired, current)
    expect(active(plan)).toEqual([])
    emulator.resetCalls()
    const result = await applyPlan(plan, { clients, desired, log, timing })
    expect(result.writes).toBe(0)
    expect(writes()).toEqual([])
  })

  it('a deploy without a domain reads nothing of them; with it, one list of certificates for both kinds', async () => {
    const mine = new Set([
      'ListCertificates',
      'ListTagsForCertificate',
      'DescribeCertificate',
      'DescribeListenerCertificates',
      'ListResourceRecordSets'
    ])
    const operations = (): string[] =>
      emulator
        .calls()
        .map((c) => c.operation)
        .filter((o) => mine.has(o))
        .sort()
    emulator.resetCalls()
    await readCurrent(clients, ONE, { publicZone: zone })
    expect(operations()).toEqual([
      'DescribeCertificate',
      'DescribeCertificate',
      'DescribeListenerCertificates',
      'ListCertificates',
      'ListResourceRecordSets',
      'ListTagsForCertificate',
      'ListTagsForCertificate'
    ])
    emulator.resetCalls()
    const current = await readCurrent(clients, ONE, {})
    expect(current.certificate).toBeUndefined()
    expect(current.stackCertificate).toBeUndefined()
    expect(operations()).toEqual([])
  })

  it('heals a certificate taken off the listener and an alias record deleted by hand, as drift', async () => {
    const desired = one()
    const stack = (await read(ONE)).stackCertificate!
    await clients.elb.send(
      new RemoveListenerCertificatesCommand({
        ListenerArn: await httpsListener(),
        Certificates: [{ CertificateArn: stack.arn }]
      })
    )
    let plan = planFor(desired, await read(ONE))
    expect(active(plan)).toEqual([`update stack-certificate *.st-wordpress.${DOMAIN} (drift)`])
    await applyPlan(plan, { clients, desired, log, timing })
    expect(await listenerCertificates()).toEqual([stack.arn])

    const alias = (await records()).find((r) => r.Type === 'A')!
    await clients.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: alias }] }
      })
    )
    plan = planFor(desired, await read(ONE))
    expect(active(plan)).toEqual([`create alias-record ${host}`])
    await applyPlan(plan, { clients, desired, log, timing })
    expect(active(planFor(desired, await read(ONE)))).toEqual([])
    // Still one certificate of each: healing requested none.
    expect(await certificates()).toHaveLength(2)
  })

  it('a run killed right after requesting its certificate converges on re-run, without a second certificate', async () => {
    const desired = desiredFor(TWO)
    const want = desired.public!.stackCertificate
    // What the killed run left: the request made (same token, same tags), nothing validated, nothing served.
    const orphan = await clients.acm.send(
      new RequestCertificateCommand({
        DomainName: want.domainName,
        ValidationMethod: 'DNS',
        IdempotencyToken: idempotencyToken(want),
        Tags: tagList(want.tags)
      })
    )
    let plan = planFor(desired, await read(TWO))
    expect(active(plan)).toEqual([
      `update stack-certificate *.st-two.${DOMAIN}`,
      `create alias-record wordpress.st-two.${DOMAIN}`
    ])
    await applyPlan(plan, { clients, desired, log, timing })
    const mine = (await certificates()).filter((c) => c.domain === want.domainName)
    expect(mine).toEqual([{ arn: orphan.CertificateArn, domain: want.domainName, status: 'ISSUED' }])
    expect(await listenerCertificates()).toContain(orphan.CertificateArn)
    plan = planFor(desired, await read(TWO))
    expect(active(plan)).toEqual([])
  })

  it('a second certificate of the stack (a replacement cut short) is folded in: one serves, the other goes', async () => {
    const desired = desiredFor(TWO)
    const want = desired.public!.stackCertificate
    const before = (await certificates()).find((c) => c.domain === want.domainName)!
    const cnames = (await records()).filter((r) => r.Type === 'CNAME')
    const extra = await clients.acm.send(
      new RequestCertificateCommand({
        DomainName: want.domainName,
        ValidationMethod: 'DNS',
        IdempotencyToken: idempotencyToken(want, before.arn),
        Tags: tagList(want.tags)
      })
    )
    // Same names, same validation record: it is issued as soon as ACM looks.
    await new Promise((resolve) => setTimeout(resolve, 40))
    const current = await read(TWO)
    expect(current.stackCertificate).toMatchObject({ arn: extra.CertificateArn, others: [before.arn] })
    let plan = planFor(desired, current)
    expect(active(plan)).toEqual([`update stack-certificate *.st-two.${DOMAIN}`])
    const result = await applyPlan(plan, { clients, desired, log, timing })
    expect(result.applied.filter((a) => a.action === 'delete').map((a) => a.id)).toEqual([before.arn])
    expect((await certificates()).filter((c) => c.domain === want.domainName).map((c) => c.arn)).toEqual([
      extra.CertificateArn
    ])
    const served = await listenerCertificates()
    expect(served).toContain(extra.CertificateArn)
    expect(served).not.toContain(before.arn)
    // The validation records stay: the certificate kept is renewed through them.
    expect((await records()).filter((r) => r.Type === 'CNAME')).toEqual(cnames)
    plan = planFor(desired, await read(TWO))
    expect(active(plan)).toEqual([])
  })

  it('a certificate that cannot be validated fails with its names and zone, within the bound', async () => {
    // Validation records in a private zone never validate anything.
    const vpc = (await clients.ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.VpcId
    const made = await clients.route53.send(
      new CreateHostedZoneCommand({
        Name: 'private.example.net',
        CallerReference: 'certificates-private',
        VPC: { VPCId: vpc, VPCRegion: REGION }
      })
    )
    const privateZone = (made.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, '')
    const e = new Engine({ clients, log, timing: { ...timing, teardownMs: 300 } })
    const want = { domainName: '*.private.example.net', alternativeNames: [], zoneId: privateZone, tags: {} }
    const started = Date.now()
    await expect(requestAndValidate(e, want)).rejects.toThrow(
      `certificate *.private.example.net was not validated through zone ${privateZone}`
    )
    expect(Date.now() - started).toBeLessThan(3000)
    const left = (await certificates()).find((c) => c.domain === want.domainName)!
    expect(left.status).toBe('PENDING_VALIDATION')
    await clients.acm.send(new DeleteCertificateCommand({ CertificateArn: left.arn }))
  })

  it("destroying a stack removes its certificate and records; the project's certificate stays for the other stack", async () => {
    const current = await readCurrent(clients, ONE, { destroy: true })
    expect(current.stackCertificate?.domainName).toBe(`*.st-wordpress.${DOMAIN}`)
    expect(current.aliasRecords?.map((r) => r.name)).toEqual([host])
    const plan = destroyPlan({ ...current, otherStacks: ['st-two'] }, ONE)
    const mine = plan.changes.filter((c) => ['certificate', 'stack-certificate', 'alias-record'].includes(c.kind))
    expect(mine.map((c) => `${c.action} ${c.kind}`).sort()).toEqual([
      'delete alias-record',
      'delete stack-certificate',
      'noop certificate'
    ])
    await applyPlan(plan, { clients, log, timing })
    expect((await certificates()).map((c) => c.domain).sort()).toEqual([`*.${DOMAIN}`, `*.st-two.${DOMAIN}`])
    const names = (await records()).map((r) => r.Name ?? '')
    expect(names.filter((n) => n.includes('st-wordpress'))).toEqual([])
    expect(await listenerCertificates()).toHaveLength(1)
  })

  it("destroying the last stack deletes the project's certificate once the listener lets go of it", async () => {
    const current = await readCurrent(clients, TWO, { destroy: true })
    expect(current.certificate?.domainName).toBe(`*.${DOMAIN}`)
    const plan = destroyPlan({ ...current, otherStacks: [] }, TWO)
    emulator.resetCalls()
    await applyPlan(plan, { clients, log, timing })
    // the listener kind's removal comes first: the certificate is deleted only once nothing serves it
    const order = emulator.calls().map((c) => `${c.operation}${c.errorCode ? ` ${c.errorCode}` : ''}`)
    expect(order.indexOf('DeleteListener')).toBeGreaterThanOrEqual(0)
    expect(order.lastIndexOf('DeleteCertificate')).toBeGreaterThan(order.indexOf('DeleteListener'))
    expect(await certificates()).toEqual([])
    // Validation and alias records all gone: the zone is as it was made.
    expect(await records()).toEqual([])
    const project = (await readCurrent(clients, TWO, { destroy: true })).certificate
    expect(project).toBeUndefined()
    await expect(
      clients.acm.send(new DescribeCertificateCommand({ CertificateArn: current.certificate!.arn }))
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' })
  })
})
