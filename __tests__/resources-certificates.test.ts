/**
 * The public endpoints' certificates and alias records, diffed without AWS: what each kind plans
 * from a desired and a current state, for deploy and destroy.
 */
import { describe, expect, it } from '@jest/globals'
import { buildDesired } from '../src/desired.js'
import { idempotencyToken, replaceReason } from '../src/aws/certificates.js'
import { destroyPlan } from '../src/plan.js'
import { aliasDnsName, aliasRecord, ownerOf } from '../src/resources/alias-record.js'
import { certificate, type CurrentCertificate } from '../src/resources/certificate.js'
import { stackCertificate } from '../src/resources/stack-certificate.js'
import type { DiffContext, KindOps } from '../src/resources/kind.js'
import type { Change, CurrentState, DesiredState } from '../src/state.js'
import { inputs, lambdaCode, network, svc, wordpress } from './helpers/deploy-fixtures.js'

const DOMAIN = 'preview.example.com'
const ZONE = { id: 'ZPUBLIC', name: DOMAIN }
const DAY = 24 * 3600 * 1000
const LB = {
  arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/hyperform-prj-demo/abc',
  name: 'hyperform-prj-demo',
  dnsName: 'hyperform-prj-demo-1.us-east-1.elb.amazonaws.com',
  canonicalZoneId: 'Z35SXDOTRQ7X7K',
  state: 'active',
  scheme: 'internet-facing',
  subnetIds: ['subnet-a', 'subnet-b'],
  securityGroupIds: ['sg-lb']
}

function publicDesired(model = wordpress()): DesiredState {
  return buildDesired({
    inputs: inputs({ domain: DOMAIN }),
    model: {
      ...model,
      services: model.services.map((s) => (s.name === 'wordpress' ? { ...s, public: true } : s))
    },
    network: { ...network, subnetZones: { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1b' } },
    lambdaCode,
    publicZone: ZONE
  })
}

function empty(desired: DesiredState, over: Partial<CurrentState> = {}): CurrentState {
  return { scope: desired.scope, targets: [], securityGroups: [], launchTemplates: [], asgs: [], records: [], ...over }
}

/** A project or stack kind's diff (the registry's type also has the per-service form). */
function levelDiff<K extends 'certificate' | 'stack-certificate'>(kind: KindOps<K>, ctx: DiffContext): Change[] {
  return kind.level === 'service' ? [] : kind.diff(ctx)
}

const issued = (over: Partial<CurrentCertificate> = {}): CurrentCertificate => ({
  arn: 'arn:aws:acm:us-east-1:123456789012:certificate/project',
  domainName: `*.${DOMAIN}`,
  alternativeNames: [DOMAIN],
  status: 'ISSUED',
  notAfter: Date.now() + 200 * DAY,
  ...over
})

const stackIssued = (over: Partial<CurrentCertificate> = {}): CurrentCertificate =>
  issued({
    arn: 'arn:aws:acm:us-east-1:123456789012:certificate/stack',
    domainName: `*.st-wordpress.${DOMAIN}`,
    alternativeNames: [],
    attached: true,
    ...over
  })

const host = `wordpress.st-wordpress.${DOMAIN}`
const alias = (over: Partial<{ name: string; service: string; dnsName: string; targetZoneId: string }> = {}) => ({
  name: host,
  service: 'wordpress',
  dnsName: aliasDnsName(LB.dnsName),
  targetZoneId: LB.canonicalZoneId,
  ...over
})

describe("the project's certificate", () => {
  const desired = publicDesired()
  const diff = (current: CurrentState) => levelDiff(certificate, { desired, current, planned: [] })

  it('is requested for *.<domain> and <domain>, validated through the public zone, when missing', () => {
    const [change] = diff(empty(desired))
    expect(change).toMatchObject({ action: 'create', name: `*.${DOMAIN}` })
    expect(change && 'desired' in change && change.desired).toMatchObject({
      domainName: `*.${DOMAIN}`,
      alternativeNames: [DOMAIN],
      zoneId: 'ZPUBLIC'
    })
    expect(change?.drift).toBeFalsy()
  })

  it('missing while the load balancer exists was deleted by hand: drift', () => {
    expect(diff(empty(desired, { loadBalancer: LB }))[0]).toMatchObject({ action: 'create', drift: true })
  })

  it('is left alone when issued and far from expiry, and when pending (apply finishes its validation)', () => {
    expect(diff(empty(desired, { certificate: issued() }))[0]?.action).toBe('noop')
    const pending = diff(empty(desired, { certificate: issued({ status: 'PENDING_VALIDATION', notAfter: undefined }) }))
    expect(pending[0]).toMatchObject({ action: 'noop', reason: expect.stringContaining('pending validation') })
  })

  it.each(['FAILED', 'EXPIRED', 'REVOKED', 'VALIDATION_TIMED_OUT'])('is requested anew when %s', (status) => {
    expect(diff(empty(desired, { certificate: issued({ status }) }))[0]).toMatchObject({
      action: 'replace',
      reason: `status ${status}`
    })
  })

  it('is requested anew when it expires within 30 days, not at 31', () => {
    expect(diff(empty(desired, { certificate: issued({ notAfter: Date.now() + 29 * DAY }) }))[0]?.action).toBe(
      'replace'
    )
    expect(diff(empty(desired, { certificate: issued({ notAfter: Date.now() + 31 * DAY }) }))[0]?.action).toBe('noop')
  })

  it('is requested anew when its names differ', () => {
    const [change] = diff(empty(desired, { certificate: issued({ alternativeNames: [] }) }))
    expect(change).toMatchObject({ action: 'replace', reason: expect.stringContaining('names') })
    expect(replaceReason(issued({ domainName: '*.other.example.com' }), desired.public!.certificate)).toContain(
      '*.other.example.com'
    )
  })

  it('plans nothing without a domain', () => {
    const plain = buildDesired({ inputs: inputs(), model: wordpress(), network, lambdaCode })
    expect(
      levelDiff(certificate, { desired: plain, current: empty(plain, { certificate: issued() }), planned: [] })
    ).toEqual([])
  })

  it("is deleted only by the project's last stack", () => {
    const current = empty(desired, { certificate: issued() })
    const deploy = { current, keep: { names: new Set<string>(), services: new Set(['wordpress']) }, reason: 'x' }
    expect(certificate.removals({ ...deploy, destroy: false, planned: [] })).toEqual([])
    const unknown = destroyPlan(current, desired.scope).changes.filter((c) => c.kind === 'certificate')
    expect(unknown).toMatchObject([{ action: 'delete', onlyIfLastStack: true }])
    const others = destroyPlan({ ...current, otherStacks: ['st-other'] }, desired.scope).changes.filter(
      (c) => c.kind === 'certificate'
    )
    expect(others).toMatchObject([{ action: 'noop', reason: expect.stringContaining('st-other') }])
    const last = destroyPlan({ ...current, otherStacks: [] }, desired.scope).changes.filter(
      (c) => c.kind === 'certificate'
    )
    expect(last).toMatchObject([{ action: 'delete' }])
    expect(last[0]?.onlyIfLastStack).toBeUndefined()
  })

  it('deletes the further certificates a replacement cut short left, with the kept one (noop becomes update)', () => {
    const others = ['arn:aws:acm:us-east-1:123456789012:certificate/left-over']
    const [change] = diff(empty(desired, { certificate: issued({ others }) }))
    expect(change).toMatchObject({ action: 'update', fields: ['others'], reason: expect.stringContaining('left over') })
    const failed = diff(empty(desired, { certificate: issued({ status: 'FAILED', others }) }))
    expect(failed[0]).toMatchObject({ action: 'replace', fields: ['others'] })
    const destroy = destroyPlan(
      { ...empty(desired, { certificate: issued({ others }) }), otherStacks: [] },
      desired.scope
    )
    expect(destroy.changes.filter((c) => c.kind === 'certificate')).toMatchObject([
      { action: 'delete', current: { arn: issued().arn } },
      { action: 'delete', current: { arn: others[0], leftOver: true } }
    ])
  })

  it('is requested with a token from its names, so a re-run after a crash gets the same one', () => {
    const want = desired.public!.certificate
    const token = idempotencyToken(want)
    expect(token).toMatch(/^\w{1,32}$/)
    expect(idempotencyToken({ ...want, alternativeNames: [...want.alternativeNames] })).toBe(token)
    expect(idempotencyToken(desired.public!.stackCertificate)).not.toBe(token)
    // A replacement is a new certificate, not the failed one the same names would give back.
    expect(idempotencyToken(want, 'arn:aws:acm:us-east-1:123456789012:certificate/failed')).not.toBe(token)
  })
})

describe("a stack's certificate", () => {
  const desired = publicDesired()
  const diff = (current: CurrentState) => levelDiff(stackCertificate, { desired, current, planned: [] })

  it('is requested for *.<stack>.<domain> alone when missing', () => {
    const [change] = diff(empty(desired))
    expect(change).toMatchObject({ action: 'create', name: `*.st-wordpress.${DOMAIN}` })
    expect(change).toMatchObject({ desired: { alternativeNames: [], zoneId: 'ZPUBLIC' } })
    expect(change?.drift).toBeFalsy()
  })

  it('is left alone when issued and on the HTTPS listener', () => {
    expect(diff(empty(desired, { stackCertificate: stackIssued() }))[0]?.action).toBe('noop')
  })

  it('is added to the listener when not on it: drift once the stack was served (its alias records exist)', () => {
    const off = stackIssued({ attached: false })
    expect(diff(empty(desired, { stackCertificate: off }))[0]).toMatchObject({
      action: 'update',
      fields: ['attached'],
      reason: 'not on the HTTPS listener'
    })
    expect(diff(empty(desired, { stackCertificate: off }))[0]?.drift).toBeFalsy()
    expect(diff(empty(desired, { stackCertificate: off, aliasRecords: [alias()] }))[0]).toMatchObject({
      action: 'update',
      drift: true
    })
  })

  it('is validated, then added to the listener, when pending', () => {
    const pending = stackIssued({ status: 'PENDING_VALIDATION', attached: false, notAfter: undefined })
    expect(diff(empty(desired, { stackCertificate: pending }))[0]).toMatchObject({
      action: 'update',
      reason: expect.stringContaining('pending validation')
    })
  })

  it('is requested anew when failed', () => {
    expect(diff(empty(desired, { stackCertificate: stackIssued({ status: 'FAILED' }) }))[0]?.action).toBe('replace')
  })

  it('goes with its stack (not kept back for other stacks), and when the stack has no public service', () => {
    const current = empty(desired, { stackCertificate: stackIssued(), otherStacks: ['st-other'] })
    expect(destroyPlan(current, desired.scope).changes.filter((c) => c.kind === 'stack-certificate')).toMatchObject([
      { action: 'delete', name: `*.st-wordpress.${DOMAIN}` }
    ])
    const keep = { names: new Set<string>(), services: new Set(['wordpress']) }
    expect(stackCertificate.removals({ current, keep, reason: 'x', destroy: false, planned: [] })).toEqual([])
    const plain = buildDesired({ inputs: inputs(), model: wordpress(), network, lambdaCode })
    expect(levelDiff(stackCertificate, { desired: plain, current, planned: [] })).toMatchObject([
      { action: 'delete', reason: 'the stack has no public service' }
    ])
  })
})

describe("a public service's alias record", () => {
  const desired = publicDesired()
  const service = desired.services.find((s) => s.name === 'wordpress')!
  const db = desired.services.find((s) => s.name === 'db')!
  const diff = (current: CurrentState, s = service) => aliasRecord.diff({ desired, current, planned: [] }, s)

  it('is created for <service>.<stack>.<domain> in the public zone; the private service has none', () => {
    expect(diff(empty(desired))).toMatchObject([
      { action: 'create', name: host, service: 'wordpress', desired: { name: host, zoneId: 'ZPUBLIC' } }
    ])
    expect(diff(empty(desired))[0]?.drift).toBeFalsy()
    expect(diff(empty(desired), db)).toEqual([])
  })

  it("missing while the service's target group exists: drift", () => {
    const group = { service: 'wordpress' } as NonNullable<CurrentState['targetGroups']>[number]
    expect(diff(empty(desired, { targetGroups: [group] }))[0]).toMatchObject({ action: 'create', drift: true })
  })

  it('is left alone when it targets the load balancer', () => {
    expect(diff(empty(desired, { loadBalancer: LB, aliasRecords: [alias()] }))[0]?.action).toBe('noop')
  })

  it('is pointed at the load balancer when it targets another, or the load balancer is new', () => {
    const elsewhere = alias({ dnsName: 'dualstack.other.elb.amazonaws.com' })
    expect(diff(empty(desired, { loadBalancer: LB, aliasRecords: [elsewhere] }))[0]).toMatchObject({
      action: 'update',
      reason: `targets dualstack.other.elb.amazonaws.com -> ${aliasDnsName(LB.dnsName)}`
    })
    expect(diff(empty(desired, { aliasRecords: [alias()] }))[0]?.action).toBe('update')
  })

  it('goes when the service no longer publishes that port, or the service goes', () => {
    const stale = alias({ name: `wordpress-8080.st-wordpress.${DOMAIN}`, service: 'wordpress-8080' })
    const gone = alias({ name: `api.st-wordpress.${DOMAIN}`, service: 'api' })
    const current = empty(desired, { loadBalancer: LB, aliasRecords: [alias(), stale, gone] })
    expect(diff(current).filter((c) => c.action === 'delete')).toMatchObject([{ name: stale.name }])
    const keep = { names: new Set<string>(), services: new Set(['db', 'wordpress']) }
    expect(aliasRecord.removals({ current, keep, reason: 'not in compose file', destroy: false, planned: [] })).toEqual(
      [expect.objectContaining({ action: 'delete', name: gone.name, service: 'api' })]
    )
    expect(destroyPlan(current, desired.scope).changes.filter((c) => c.kind === 'alias-record')).toHaveLength(3)
  })

  it("finds a host's service among <service> and <service>-<port>", () => {
    const services = new Set(['web', 'api-2'])
    expect(ownerOf('web', services)).toBe('web')
    expect(ownerOf('web-8080', services)).toBe('web')
    expect(ownerOf('api-2', services)).toBe('api-2')
    expect(ownerOf('api', services)).toBeUndefined()
  })

  it('one per published port when a service publishes several', () => {
    const model = wordpress()
    model.services = [
      ...model.services.filter((s) => s.name !== 'wordpress'),
      svc('wordpress', {
        ports: [
          { target: 80, published: 80, protocol: 'tcp' },
          { target: 443, published: 8443, protocol: 'tcp' }
        ]
      })
    ]
    const two = publicDesired(model)
    const s = two.services.find((x) => x.name === 'wordpress')!
    expect(aliasRecord.diff({ desired: two, current: empty(two), planned: [] }, s).map((c) => c.name)).toEqual([
      `wordpress-80.st-wordpress.${DOMAIN}`,
      `wordpress-8443.st-wordpress.${DOMAIN}`
    ])
  })
})
