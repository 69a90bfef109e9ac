/**
 * The public endpoints' front door, diffed without AWS: the load balancer, its security group,
 * its two listeners and the services' target groups (create, noop, update with reasons, drift,
 * and removals: the project's parts only with its last stack, the target groups with their stack).
 */
import { describe, expect, it } from '@jest/globals'
import { buildDesired, SSL_POLICY } from '../src/desired.js'
import { destroyPlan, diff } from '../src/plan.js'
import { KINDS } from '../src/resources/index.js'
import type { DiffContext } from '../src/resources/kind.js'
import { actionKey, defaultAction } from '../src/resources/listener.js'
import { ingressHash } from '../src/resources/security-group.js'
import { stackTargetGroupPrefix, targetGroupHash } from '../src/resources/target-group.js'
import { targetGroupName, type StackScope } from '../src/names.js'
import type { Change, CurrentState, DesiredState } from '../src/state.js'
import { currentFrom, inputs, lambdaCode, network, svc } from './helpers/deploy-fixtures.js'

const ZONE = { id: 'Z0PUBLIC', name: 'example.com' }
const NET = {
  ...network,
  subnetIds: ['subnet-b', 'subnet-a', 'subnet-c'],
  subnetZones: { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1b', 'subnet-c': 'us-east-1a' }
}
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/project'

function publicDesired(checkPath?: string): DesiredState {
  const model = {
    services: [
      svc('db', { ports: [{ target: 3306, published: 3306, protocol: 'tcp' as const }] }),
      svc('web', {
        public: true,
        ports: [{ target: 80, published: 8080, protocol: 'tcp' as const }],
        ...(checkPath ? { checkPath } : {})
      })
    ],
    files: ['compose.yaml']
  }
  return buildDesired({ inputs: inputs({ domain: 'example.com' }), model, network: NET, lambdaCode, publicZone: ZONE })
}

/** What AWS shows once `desired`'s front door was applied. */
function currentPublic(desired: DesiredState): CurrentState {
  const pub = desired.public
  if (!pub) throw new Error('no public part')
  const lbArn = `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/${pub.loadBalancer.name}/1`
  return {
    ...currentFrom(desired),
    certificate: { arn: CERT, domainName: '*.example.com', alternativeNames: ['example.com'], status: 'ISSUED' },
    loadBalancerSecurityGroup: {
      id: 'sg-lb',
      name: pub.securityGroup.name,
      vpcId: NET.vpcId,
      ingress: pub.securityGroup.ingress,
      configHash: ingressHash(pub.securityGroup.ingress)
    },
    loadBalancer: {
      arn: lbArn,
      name: pub.loadBalancer.name,
      dnsName: 'lb.us-east-1.elb.amazonaws.com',
      canonicalZoneId: 'Z35SXDOTRQ7X7K',
      state: 'active',
      scheme: 'internet-facing',
      subnetIds: [...pub.loadBalancer.subnetIds],
      securityGroupIds: ['sg-lb']
    },
    listeners: pub.listeners.map((l) => ({
      arn: `${lbArn}/listener/${l.port}`,
      name: l.name,
      protocol: l.protocol,
      port: l.port,
      ...(l.protocol === 'HTTPS' ? { certificateArn: CERT, sslPolicy: SSL_POLICY } : {}),
      defaultAction: actionKey([defaultAction(l.protocol)])
    })),
    targetGroups: desired.services.flatMap((s) =>
      s.endpoints.map((e) => ({
        arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${e.targetGroup.name}/1`,
        name: e.targetGroup.name,
        service: s.name,
        port: e.port,
        vpcId: NET.vpcId,
        healthCheck: { ...e.targetGroup.healthCheck },
        configHash: targetGroupHash(e.targetGroup),
        loadBalancerArns: [lbArn]
      }))
    ),
    listenerRules: [],
    aliasRecords: []
  }
}

const ctx = (desired: DesiredState, current: CurrentState, planned: Change[] = []): DiffContext => ({
  desired,
  current,
  planned
})
const project = (
  kind: 'load-balancer' | 'load-balancer-security-group' | 'listener',
  desired: DesiredState,
  current: CurrentState,
  planned: Change[] = []
): Change[] => {
  const op = KINDS[kind]
  if (op.level === 'service') throw new Error('not a project kind')
  return op.diff(ctx(desired, current, planned))
}
const groups = (desired: DesiredState, current: CurrentState): Change[] =>
  desired.services.flatMap((s) => KINDS['target-group'].diff(ctx(desired, current), s))
const summary = (changes: Change[]): string[] =>
  changes.map((c) => `${c.action} ${c.kind} ${c.name}${c.drift ? ' (drift)' : ''}`)

describe('the public front door, diffed', () => {
  it('creates the load balancer in one subnet of each zone, its group, both listeners and one target group per public port', () => {
    const desired = publicDesired()
    const fresh = currentFrom(desired)
    const lb = project('load-balancer', desired, fresh)
    expect(summary(lb)).toEqual(['create load-balancer hyperform-prj-demo'])
    expect(lb[0]?.reason).toBe('not found; subnets subnet-a, subnet-b')
    expect(summary(project('load-balancer-security-group', desired, fresh))).toEqual([
      'create load-balancer-security-group hyperform-prj-demo-load-balancer'
    ])
    expect(summary(project('listener', desired, fresh))).toEqual([
      'create listener hyperform-prj-demo/https',
      'create listener hyperform-prj-demo/http'
    ])
    expect(summary(groups(desired, fresh))).toEqual([
      `create target-group ${targetGroupName(desired.scope, 'web', 8080)}`
    ])
  })

  it('plans nothing of it without a domain (and keeps what exists at project level)', () => {
    const desired = publicDesired()
    const plain = buildDesired({
      inputs: inputs(),
      model: { services: [svc('web', { public: true })], files: [] },
      network: NET,
      lambdaCode
    })
    const current = currentPublic(desired)
    for (const kind of ['load-balancer', 'load-balancer-security-group', 'listener'] as const)
      expect(project(kind, plain, current)).toEqual([])
    expect(
      KINDS['load-balancer'].removals({
        current,
        destroy: false,
        keep: { names: new Set(), services: new Set() },
        reason: '',
        planned: []
      })
    ).toEqual([])
  })

  it('is all noop when AWS shows what was applied', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const changes = [
      ...project('load-balancer-security-group', desired, current),
      ...project('load-balancer', desired, current),
      ...project('listener', desired, current),
      ...groups(desired, current)
    ]
    expect(changes.map((c) => c.action)).toEqual(['noop', 'noop', 'noop', 'noop', 'noop'])
    // ...and the whole plan has them, all noop.
    const mine = ['load-balancer-security-group', 'load-balancer', 'listener', 'target-group']
    const plan = diff(desired, current)
    expect(plan.changes.filter((c) => mine.includes(c.kind)).map((c) => `${c.action} ${c.kind}`)).toEqual([
      'noop load-balancer-security-group',
      'noop load-balancer',
      'noop listener',
      'noop listener',
      'noop target-group'
    ])
  })

  it('updates a target group whose health check path changed in the compose file, not as drift', () => {
    const before = publicDesired()
    const current = currentPublic(before)
    const after = publicDesired('/healthz')
    const [change] = groups(after, current)
    expect(change).toMatchObject({
      action: 'update',
      fields: ['healthCheck.path', 'deregistrationDelay'],
      drift: false
    })
    expect(change?.reason).toMatch(/^health check path \/ -> \/healthz; /)
  })

  it('reports a health check changed by hand as drift (the hash says what the action last wrote)', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const tg = current.targetGroups?.[0]
    if (!tg) throw new Error('no target group')
    tg.healthCheck = { ...tg.healthCheck, codes: '200' }
    const [change] = groups(desired, current)
    expect(change).toMatchObject({ action: 'update', fields: ['healthCheck.codes'], drift: true })
    expect(change?.reason).toBe('health check codes 200 -> 200-399')
  })

  it('rewrites a target group whose hash tag is missing (a stopped run), writing its attributes again', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const tg = current.targetGroups?.[0]
    if (!tg) throw new Error('no target group')
    delete tg.configHash
    expect(groups(desired, current)[0]).toMatchObject({
      action: 'update',
      fields: ['deregistrationDelay'],
      drift: false
    })
  })

  it('refuses a target group in another VPC, naming the fix', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const tg = current.targetGroups?.[0]
    if (tg) tg.vpcId = 'vpc-other'
    expect(() => groups(desired, current)).toThrow(/is vpc-other port 8080.*destroy the stack/)
  })

  it('moves the load balancer to other subnets, and back to its own group as drift', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    if (!current.loadBalancer) throw new Error('no load balancer')
    current.loadBalancer.subnetIds = ['subnet-a', 'subnet-z']
    let [change] = project('load-balancer', desired, current)
    expect(change).toMatchObject({ action: 'update', fields: ['subnetIds'], drift: false })
    expect(change?.reason).toBe('subnets subnet-a, subnet-z -> subnet-a, subnet-b')
    current.loadBalancer.subnetIds = ['subnet-a', 'subnet-b']
    current.loadBalancer.securityGroupIds = ['sg-lb', 'sg-extra']
    ;[change] = project('load-balancer', desired, current)
    expect(change).toMatchObject({ action: 'update', fields: ['securityGroupIds'], drift: true })
  })

  it('refuses an internal load balancer of the same name, telling the user to delete it', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    if (current.loadBalancer) current.loadBalancer.scheme = 'internal'
    expect(() => project('load-balancer', desired, current)).toThrow(/is internal, not internet-facing.*delete it/)
  })

  it('reports a load balancer deleted by hand (its alias records remain) as drift, a fresh one not', () => {
    const desired = publicDesired()
    const current = { ...currentPublic(desired), loadBalancer: undefined, listeners: [] }
    expect(project('load-balancer', desired, current)[0]?.drift).toBe(false)
    current.aliasRecords = [{ name: 'web.st-wordpress.example.com', service: 'web', dnsName: 'lb', targetZoneId: 'Z' }]
    expect(project('load-balancer', desired, current)[0]).toMatchObject({ action: 'create', drift: true })
  })

  it('heals listeners changed by hand: certificate, TLS policy, default action', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const [https, http] = current.listeners ?? []
    if (!https || !http) throw new Error('no listeners')
    https.certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/other'
    https.sslPolicy = 'ELBSecurityPolicy-2016-08'
    http.defaultAction = 'fixed-response 200 text/plain hi'
    const changes = project('listener', desired, current)
    expect(changes.map((c) => [c.action, c.fields, c.drift])).toEqual([
      ['update', ['certificate', 'sslPolicy'], true],
      ['update', ['defaultAction'], true]
    ])
    expect(changes[0]?.reason).toContain(`-> ${CERT}`)
    expect(changes[1]?.reason).toContain('-> redirect HTTP_301 HTTPS://#{host}:443/#{path}?#{query}')
  })

  it('moves the HTTPS listener to a new project certificate, not as drift', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const planned = [
      {
        kind: 'certificate',
        action: 'replace',
        name: '*.example.com',
        reason: 'expired',
        desired: desired.public?.certificate
      }
    ] as Change[]
    const changes = project('listener', desired, current, planned)
    expect(changes.map((c) => [c.action, c.fields, c.drift])).toEqual([
      ['update', ['certificate'], false],
      ['noop', undefined, undefined]
    ])
  })

  it('updates the load balancer group ingress, as drift when the action had written the rules it wants', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    if (!current.loadBalancerSecurityGroup) throw new Error('no group')
    current.loadBalancerSecurityGroup.ingress = current.loadBalancerSecurityGroup.ingress.slice(1)
    const [change] = project('load-balancer-security-group', desired, current)
    expect(change).toMatchObject({ action: 'update', fields: ['ingress'], drift: true })
    expect(change?.reason).toMatch(/^ingress \+tcp:00/)
  })

  it('removes the project parts only with the last stack, the stack target groups always', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const kinds = ['load-balancer-security-group', 'load-balancer', 'listener', 'target-group']
    const mine = (changes: Change[]): string[] =>
      changes
        .filter((c) => kinds.includes(c.kind))
        .map((c) => `${c.action} ${c.kind}${c.onlyIfLastStack ? ' (if last)' : ''}`)
        .sort()
    expect(mine(destroyPlan({ ...current, otherStacks: ['st-other'] }, desired.scope).changes)).toEqual([
      'delete target-group',
      'noop listener',
      'noop listener',
      'noop load-balancer',
      'noop load-balancer-security-group'
    ])
    expect(mine(destroyPlan({ ...current, otherStacks: [] }, desired.scope).changes)).toEqual([
      'delete listener',
      'delete listener',
      'delete load-balancer',
      'delete load-balancer-security-group',
      'delete target-group'
    ])
    expect(mine(destroyPlan(current, desired.scope).changes)).toEqual([
      'delete listener (if last)',
      'delete listener (if last)',
      'delete load-balancer (if last)',
      'delete load-balancer-security-group (if last)',
      'delete target-group'
    ])
  })

  it('deletes a target group the compose file no longer publishes on deploy, and keeps the project parts', () => {
    const desired = publicDesired()
    const current = currentPublic(desired)
    const closed = buildDesired({
      inputs: inputs({ domain: 'example.com' }),
      model: {
        services: [
          svc('db', { public: true, ports: [{ target: 5432, published: 5432, protocol: 'tcp' }] }),
          svc('web')
        ],
        files: []
      },
      network: NET,
      lambdaCode,
      publicZone: ZONE
    })
    const plan = diff(closed, current)
    const deletes = plan.changes.filter((c) => c.action === 'delete').map((c) => `${c.kind} ${c.name}`)
    expect(deletes).toEqual([`target-group ${targetGroupName(desired.scope, 'web', 8080)}`])
  })

  it('narrows the listing by a name prefix every target group of the stack has, even when its name is cut to fit', () => {
    const long: StackScope = { project: 'p'.repeat(20), stack: 's'.repeat(20), region: 'us-east-1' }
    const name = targetGroupName(long, 'web', 8080)
    expect(name.length).toBeLessThanOrEqual(32)
    expect(name.startsWith(stackTargetGroupPrefix(long))).toBe(true)
    const short: StackScope = { project: 'prj-demo', stack: 'st', region: 'us-east-1' }
    expect(stackTargetGroupPrefix(short)).toBe('prj-demo-st-')
    expect(targetGroupName(short, 'web', 80).startsWith(stackTargetGroupPrefix(short))).toBe(true)
  })
})
