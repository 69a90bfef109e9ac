/** Public endpoints as plain data: the desired front door, the listener rules' plan, the URLs reported, the inputs. */
import { buildDesired, loadBalancerSubnets } from '../src/desired.js'
import { InputError, readInputs } from '../src/inputs.js'
import { hostProblem, publicHost } from '../src/names.js'
import { outputs, previewComment, summaryMarkdown, type RunReport } from '../src/report.js'
import { buildReport } from '../src/run-report.js'
import { listenerRule, RULES_PER_LISTENER } from '../src/resources/listener-rule.js'
import { FROM_LOAD_BALANCER, type CurrentState, type DesiredState, type Network } from '../src/state.js'
import { currentFrom, inputs, lambdaCode, network, svc, wordpress } from './helpers/deploy-fixtures.js'

const zoned: Network = { ...network, subnetZones: { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1b' } }
const publicZone = { id: 'ZPUBLIC', name: 'preview.example.com' }

function publicWordpress(): ReturnType<typeof wordpress> {
  const model = wordpress()
  return { ...model, services: model.services.map((s) => (s.name === 'wordpress' ? { ...s, public: true } : s)) }
}

function desiredWithDomain(model = publicWordpress(), net: Network = zoned): DesiredState {
  return buildDesired({
    inputs: inputs({ stack: 'pr-7', domain: 'preview.example.com' }),
    model,
    network: net,
    lambdaCode,
    publicZone
  })
}

describe('the desired front door', () => {
  const desired = desiredWithDomain()
  const wp = desired.services.find((s) => s.name === 'wordpress')!
  const db = desired.services.find((s) => s.name === 'db')!

  test('a public service with one published port gets https://<service>.<stack>.<domain>, its target group, rule and alias', () => {
    expect(wp.endpoints).toHaveLength(1)
    const [endpoint] = wp.endpoints
    expect(endpoint?.url).toBe('https://wordpress.pr-7.preview.example.com')
    expect(endpoint?.targetGroup).toMatchObject({ port: 80, vpcId: 'vpc-1', deregistrationDelay: 30 })
    expect(endpoint?.targetGroup.healthCheck).toMatchObject({ path: '/', codes: '200-399' })
    expect(endpoint?.rule).toMatchObject({ name: 'wordpress.pr-7.preview.example.com', port: 80 })
    expect(endpoint?.alias).toEqual({ name: 'wordpress.pr-7.preview.example.com', zoneId: 'ZPUBLIC' })
    expect(db.endpoints).toEqual([])
  })

  test('both groups of the public service register into its target group; the private service has none', () => {
    const group = wp.endpoints[0]?.targetGroup.name
    expect(wp.asgs.map((a) => a.targetGroups)).toEqual([[group], [group]])
    expect(db.asgs.every((a) => a.targetGroups.length === 0)).toBe(true)
  })

  test('the public port opens to the load balancer only, the private ones stay in the VPC', () => {
    expect(wp.securityGroup.ingress).toEqual([{ protocol: 'tcp', fromPort: 80, toPort: 80, cidr: FROM_LOAD_BALANCER }])
    expect(db.securityGroup.ingress.every((r) => r.cidr === network.vpcCidr)).toBe(true)
    const without = buildDesired({ inputs: inputs(), model: publicWordpress(), network, lambdaCode })
    expect(without.public).toBeUndefined()
    expect(without.services.find((s) => s.name === 'wordpress')?.securityGroup.ingress[0]?.cidr).toBe('0.0.0.0/0')
  })

  test('the project certificate covers the domain and one label below it; the stack certificate covers its hosts', () => {
    expect(desired.public?.certificate).toMatchObject({
      domainName: '*.preview.example.com',
      alternativeNames: ['preview.example.com']
    })
    expect(desired.public?.stackCertificate.domainName).toBe('*.pr-7.preview.example.com')
    expect(desired.public?.listeners.map((l) => [l.protocol, l.port])).toEqual([
      ['HTTPS', 443],
      ['HTTP', 80]
    ])
  })

  test('a service publishing several ports gets one host per port, named with the port', () => {
    const model = {
      services: [
        svc('api', {
          public: true,
          ports: [
            { target: 80, published: 8080, protocol: 'tcp' as const },
            { target: 9000, published: 9000, protocol: 'tcp' as const }
          ],
          checkPath: '/healthz',
          checkCodes: '200'
        })
      ],
      files: ['compose.yaml']
    }
    const api = desiredWithDomain(model).services[0]!
    expect(api.endpoints.map((e) => e.host)).toEqual([
      'api-8080.pr-7.preview.example.com',
      'api-9000.pr-7.preview.example.com'
    ])
    expect(api.endpoints[0]?.targetGroup.healthCheck).toMatchObject({ path: '/healthz', codes: '200' })
  })

  test('the load balancer takes the first subnet of each zone, and one zone is an error before any write', () => {
    const three = { ...zoned, subnetIds: ['subnet-c', 'subnet-a', 'subnet-b'] }
    const zones = { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1b', 'subnet-c': 'us-east-1a' }
    expect(loadBalancerSubnets({ ...three, subnetZones: zones })).toEqual(['subnet-a', 'subnet-b'])
    const oneZone = { ...zoned, subnetZones: { 'subnet-a': 'us-east-1a', 'subnet-b': 'us-east-1a' } }
    expect(() => desiredWithDomain(publicWordpress(), oneZone)).toThrow(/two availability zones/)
  })
})

describe('the listener rules in the plan', () => {
  const desired = desiredWithDomain()
  const wp = desired.services.find((s) => s.name === 'wordpress')!

  function current(over: Partial<CurrentState>): CurrentState {
    return { ...currentFrom(desired), ...over }
  }

  test('a missing rule is created; one forwarding to its group is a noop; one forwarding elsewhere is drift', () => {
    const group = { arn: 'arn:tg/wp', name: wp.endpoints[0]!.targetGroup.name, service: 'wordpress', port: 80 }
    const tg = { ...group, healthCheck: wp.endpoints[0]!.targetGroup.healthCheck, loadBalancerArns: [] }
    const ctx = (rules: CurrentState['listenerRules']): Parameters<typeof listenerRule.diff>[0] => ({
      desired,
      current: current({ listenerRules: rules, targetGroups: [tg] }),
      planned: []
    })
    const host = 'wordpress.pr-7.preview.example.com'
    expect(listenerRule.diff(ctx([]), wp).map((c) => [c.action, c.drift])).toEqual([['create', true]])
    const rule = { arn: 'arn:rule/1', name: host, service: 'wordpress', priority: 1, targetGroupArn: 'arn:tg/wp' }
    expect(listenerRule.diff(ctx([rule]), wp).map((c) => c.action)).toEqual(['noop'])
    const moved = listenerRule.diff(ctx([{ ...rule, targetGroupArn: 'arn:tg/other' }]), wp)
    expect(moved.map((c) => [c.action, c.reason, c.drift])).toEqual([
      ['update', 'forwards to another target group', true]
    ])
  })

  test('rules of other stacks count toward the listener quota: one too many stops the plan naming the limit', () => {
    const full = {
      desired,
      current: current({ listenerRuleCount: { others: RULES_PER_LISTENER, otherStacks: 3 } }),
      planned: []
    }
    expect(() => listenerRule.diff(full, wp)).toThrow(/allows 100 rules.*Rules per Application Load Balancer/)
    const room = {
      desired,
      current: current({ listenerRuleCount: { others: RULES_PER_LISTENER - 1, otherStacks: 3 } }),
      planned: []
    }
    expect(listenerRule.diff(room, wp)).toHaveLength(1)
  })

  test("a rule the compose file no longer asks for is removed, with its service's name", () => {
    const stale = { arn: 'arn:rule/9', name: 'old.pr-7.preview.example.com', service: 'old', priority: 9 }
    const removals = listenerRule.removals({
      current: current({ listenerRules: [stale] }),
      destroy: false,
      keep: { names: new Set(['wordpress.pr-7.preview.example.com']), services: new Set(['wordpress']) },
      reason: 'not in compose file',
      planned: []
    })
    expect(removals.map((c) => [c.action, c.name, c.service])).toEqual([['delete', stale.name, 'old']])
  })
})

describe('the URLs users are given', () => {
  function report(desired: DesiredState, current: CurrentState): RunReport {
    return buildReport({
      inputs: inputs({ stack: 'pr-7', domain: desired.public?.domain }),
      source: 'pull-request',
      model: publicWordpress(),
      current,
      plan: { changes: [] },
      desired
    })
  }

  test('with a domain: the urls output maps the service to its https URL, and the preview comment starts with it', () => {
    const desired = desiredWithDomain()
    const run = report(desired, currentFrom(desired))
    expect(JSON.parse(outputs(run).urls ?? '')).toEqual({ wordpress: 'https://wordpress.pr-7.preview.example.com' })
    const comment = previewComment(run, new Date('2026-12-03T09:00:00Z'))
    expect(comment.split('\n')[0]).toBe(
      '**[https://wordpress.pr-7.preview.example.com](https://wordpress.pr-7.preview.example.com)**'
    )
    expect(summaryMarkdown(run)).toContain('### URLs')
  })

  test("without a domain: each running instance's public address, marked as changing on replacement", () => {
    const desired = buildDesired({ inputs: inputs({ stack: 'pr-7' }), model: publicWordpress(), network, lambdaCode })
    const current = currentFrom(desired)
    current.instances = [
      { id: 'i-1', service: 'wordpress', state: 'running', privateIp: '10.0.0.5', publicIp: '203.0.113.5' },
      { id: 'i-2', service: 'wordpress', state: 'running', privateIp: '10.0.0.6', publicIp: '203.0.113.6' },
      { id: 'i-3', service: 'db', state: 'running', privateIp: '10.0.0.7', publicIp: '203.0.113.7' }
    ]
    const run = report(desired, current)
    expect(JSON.parse(outputs(run).urls ?? '')).toEqual({
      wordpress: ['http://203.0.113.5:80', 'http://203.0.113.6:80']
    })
    expect(summaryMarkdown(run)).toContain('they change when instances are replaced')
    expect(previewComment(run).startsWith('**[')).toBe(false)
  })
})

describe('the domain input and host names', () => {
  const saved = { ...process.env }
  afterEach(() => {
    process.env = { ...saved }
  })

  function read(domain: string): string[] | string | undefined {
    for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key]
    process.env.INPUT_PROJECT = 'shop'
    process.env.INPUT_DOMAIN = domain
    try {
      return readInputs({ AWS_REGION: 'us-east-1', GITHUB_WORKSPACE: process.cwd() }).domain
    } catch (error) {
      if (error instanceof InputError) return error.problems
      throw error
    }
  }

  test('a domain is lowercased and loses its trailing dot; a single label or a bad label is an input error', () => {
    expect(read('Preview.Example.com.')).toBe('preview.example.com')
    expect(read('localhost')).toEqual([expect.stringMatching(/^Input "domain": "localhost" is not a domain name/)])
    expect(read('bad_label.example.com')).toEqual([expect.stringContaining('label "bad_label"')])
  })

  test('a host whose first label is over 63 characters is a problem naming the label', () => {
    const scope = { project: 'p', stack: 'pr-7', region: 'us-east-1' }
    const host = publicHost(scope, 'example.com', 'a'.repeat(60), 8080)
    expect(hostProblem(host)).toMatch(/label "a{60}-8080" is 65 characters; the limit is 63/)
    expect(hostProblem(publicHost(scope, 'example.com', 'web'))).toBeUndefined()
  })
})
