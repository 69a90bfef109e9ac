import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { ACMClient, DescribeCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm'
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  RegisterTargetsCommand,
  RemoveTagsCommand,
  SetRulePrioritiesCommand,
  type TargetHealthDescription
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { registerGroupTargets, setTargetHealthSource } from '../emulator/services/elbv2/index.js'
import { eventually, roleSession, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let elb: ElasticLoadBalancingV2Client
let ec2: EC2Client
let acm: ACMClient
let r53: Route53Client
let subnets: { id: string; zone: string }[]
let vpcId: string
let seq = 0

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      elbTimeScale: 0.001,
      acmValidationRecordMs: 0,
      agentStandIn: false
    }
  })
  elb = new ElasticLoadBalancingV2Client(sdkConfig(emu))
  ec2 = new EC2Client(sdkConfig(emu))
  acm = new ACMClient(sdkConfig(emu))
  r53 = new Route53Client(sdkConfig(emu))
  const out = await ec2.send(new DescribeSubnetsCommand({}))
  subnets = (out.Subnets ?? []).map((s) => ({ id: s.SubnetId ?? '', zone: s.AvailabilityZone ?? '' }))
  vpcId = out.Subnets?.[0]?.VpcId ?? ''
})

afterAll(async () => {
  for (const c of [elb, ec2, acm, r53]) c.destroy()
  await emu.stop()
})

/** The error's wire code (the SDK names modelled errors after their shape, e.g. PriorityInUseException). */
async function failure(promise: Promise<unknown>): Promise<{ code: string; name: string; message: string }> {
  try {
    await promise
  } catch (err) {
    const e = err as Error & { Code?: string }
    return { code: e.Code ?? e.name, name: e.name, message: e.message }
  }
  throw new Error('expected the call to fail')
}

async function loadBalancer(name = `lb${++seq}`): Promise<{ arn: string; dnsName: string; zoneId: string }> {
  const out = await elb.send(
    new CreateLoadBalancerCommand({ Name: name, Subnets: subnets.slice(0, 2).map((s) => s.id) })
  )
  const lb = out.LoadBalancers?.[0]
  return { arn: lb?.LoadBalancerArn ?? '', dnsName: lb?.DNSName ?? '', zoneId: lb?.CanonicalHostedZoneId ?? '' }
}

async function targetGroup(name = `tg${++seq}`): Promise<string> {
  const out = await elb.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200-299' }
    })
  )
  return out.TargetGroups?.[0]?.TargetGroupArn ?? ''
}

async function httpListener(lbArn: string, tgArn: string, port = 80): Promise<string> {
  const out = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lbArn,
      Protocol: 'HTTP',
      Port: port,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }]
    })
  )
  return out.Listeners?.[0]?.ListenerArn ?? ''
}

async function runningInstance(subnet = subnets[0]): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({ ImageId: 'ami-0a1b2c3d4e5f60001', MinCount: 1, MaxCount: 1, SubnetId: subnet?.id })
  )
  const id = out.Instances?.[0]?.InstanceId ?? ''
  await emu.waitIdle()
  return id
}

async function health(tgArn: string): Promise<TargetHealthDescription[]> {
  return (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }))).TargetHealthDescriptions ?? []
}

async function stateOf(tgArn: string, id: string): Promise<string | undefined> {
  return (await health(tgArn)).find((d) => d.Target?.Id === id)?.TargetHealth?.State
}

/** An issued certificate: requested, its validation CNAME written into a public zone. */
async function issuedCertificate(domain: string): Promise<string> {
  const arn = (await acm.send(new RequestCertificateCommand({ DomainName: domain, ValidationMethod: 'DNS' })))
    .CertificateArn
  const record = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate
    ?.DomainValidationOptions?.[0]?.ResourceRecord
  const zone = await r53.send(new CreateHostedZoneCommand({ Name: domain, CallerReference: `cert-${domain}` }))
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone.HostedZone?.Id,
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
  return arn ?? ''
}

describe('load balancers', () => {
  test('need subnets in at least two Availability Zones, else ValidationError', async () => {
    const one = await failure(
      elb.send(new CreateLoadBalancerCommand({ Name: 'single', Subnets: [subnets[0]?.id ?? ''] }))
    )
    expect(one.code).toBe('ValidationError')
    expect(one.message).toBe('At least two subnets in two different Availability Zones must be specified')
    const missing = await failure(
      elb.send(new CreateLoadBalancerCommand({ Name: 'missing', Subnets: [subnets[0]?.id ?? '', 'subnet-0000'] }))
    )
    expect(missing.name).toBe('SubnetNotFoundException')
  })

  test('internet-facing ones need an internet gateway on their VPC; internal ones do not', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc?.VpcId
    const own = await Promise.all(
      ['a', 'b'].map(async (az, i) => {
        const out = await ec2.send(
          new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.40.${i}.0/24`, AvailabilityZone: `us-east-1${az}` })
        )
        return out.Subnet?.SubnetId ?? ''
      })
    )
    const err = await failure(elb.send(new CreateLoadBalancerCommand({ Name: 'no-igw', Subnets: own })))
    expect(err.name).toBe('InvalidSubnetException')
    expect(err.message).toBe(`VPC ${vpc ?? ''} has no internet gateway`)
    const internal = await elb.send(new CreateLoadBalancerCommand({ Name: 'inside', Subnets: own, Scheme: 'internal' }))
    expect(internal.LoadBalancers?.[0]?.DNSName).toMatch(/^internal-inside-\d+\.us-east-1\.elb\.amazonaws\.com$/)
  })

  test("get the region's DNS name and canonical hosted zone id, and go provisioning -> active", async () => {
    const out = await elb.send(
      new CreateLoadBalancerCommand({
        Name: 'web',
        Subnets: subnets.slice(0, 2).map((s) => s.id),
        Tags: [{ Key: 'app', Value: 'shop' }]
      })
    )
    const lb = out.LoadBalancers?.[0]
    expect(lb?.DNSName).toMatch(/^web-\d+\.us-east-1\.elb\.amazonaws\.com$/)
    expect(lb?.CanonicalHostedZoneId).toBe('Z35SXDOTRQ7X7K')
    expect(lb?.Scheme).toBe('internet-facing')
    expect(lb?.Type).toBe('application')
    expect(lb?.LoadBalancerArn).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer\/app\/web\/[0-9a-f]{16}$/
    )
    expect(lb?.State?.Code).toBe('provisioning')
    expect(lb?.AvailabilityZones?.map((z) => z.ZoneName).sort()).toEqual(
      subnets
        .slice(0, 2)
        .map((s) => s.zone)
        .sort()
    )
    expect(lb?.SecurityGroups).toHaveLength(1)
    await eventually(async () => {
      const d = await elb.send(new DescribeLoadBalancersCommand({ Names: ['web'] }))
      return d.LoadBalancers?.[0]?.State?.Code === 'active' ? true : undefined
    })
    // the same name with the same settings is the same load balancer; with others, DuplicateLoadBalancerName
    const again = await elb.send(
      new CreateLoadBalancerCommand({ Name: 'web', Subnets: subnets.slice(0, 2).map((s) => s.id) })
    )
    expect(again.LoadBalancers?.[0]?.LoadBalancerArn).toBe(lb?.LoadBalancerArn)
    const other = await failure(
      elb.send(new CreateLoadBalancerCommand({ Name: 'web', Subnets: subnets.slice(1, 3).map((s) => s.id) }))
    )
    expect(other.name).toBe('DuplicateLoadBalancerNameException')
  })

  test('are described by name or ARN, a page at a time, and an unknown name is LoadBalancerNotFound', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await loadBalancer(name)
    const names: string[] = []
    let marker: string | undefined
    do {
      const out = await elb.send(new DescribeLoadBalancersCommand({ PageSize: 2, Marker: marker }))
      expect((out.LoadBalancers ?? []).length).toBeLessThanOrEqual(2)
      names.push(...(out.LoadBalancers ?? []).map((lb) => lb.LoadBalancerName ?? ''))
      marker = out.NextMarker
    } while (marker)
    expect(names).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']))
    expect(new Set(names).size).toBe(names.length)
    const missing = await failure(elb.send(new DescribeLoadBalancersCommand({ Names: ['page-a', 'nope'] })))
    expect(missing.name).toBe('LoadBalancerNotFoundException')
  })

  test('with deletion protection cannot be deleted; without, deletion takes their listeners along', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    await httpListener(lb.arn, tg)
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lb.arn,
        Attributes: [{ Key: 'deletion_protection.enabled', Value: 'true' }]
      })
    )
    const refused = await failure(elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.arn })))
    expect(refused.name).toBe('OperationNotPermittedException')
    await elb.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lb.arn,
        Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }]
      })
    )
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.arn }))
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.arn }))
    // its listener went with it, so the target group is free to go
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg }))
  })
})

describe('listeners', () => {
  test('HTTP can redirect to HTTPS on 443; a redirect to itself is refused', async () => {
    const lb = await loadBalancer()
    const out = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.arn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [
          { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }
        ]
      })
    )
    expect(out.Listeners?.[0]?.DefaultActions?.[0]?.RedirectConfig).toMatchObject({ Protocol: 'HTTPS', Port: '443' })
    const loop = await failure(
      elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.arn,
          Protocol: 'HTTP',
          Port: 8081,
          DefaultActions: [{ Type: 'redirect', RedirectConfig: { StatusCode: 'HTTP_302' } }]
        })
      )
    )
    expect(loop.name).toBe('InvalidLoadBalancerActionException')
    const twice = await failure(
      elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.arn,
          Protocol: 'HTTP',
          Port: 80,
          DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }]
        })
      )
    )
    expect(twice.name).toBe('DuplicateListenerException')
  })

  test('HTTPS needs an ISSUED ACM certificate of the region', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    const https = (certificateArn?: string): CreateListenerCommand =>
      new CreateListenerCommand({
        LoadBalancerArn: lb.arn,
        Protocol: 'HTTPS',
        Port: 443,
        ...(certificateArn ? { Certificates: [{ CertificateArn: certificateArn }] } : {}),
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }]
      })
    expect((await failure(elb.send(https()))).code).toBe('ValidationError')
    const pending = (
      await acm.send(new RequestCertificateCommand({ DomainName: 'pending.example.com', ValidationMethod: 'DNS' }))
    ).CertificateArn
    const notIssued = await failure(elb.send(https(pending)))
    expect(notIssued.name).toBe('CertificateNotFoundException')
    expect(notIssued.message).toBe(`Certificate '${pending ?? ''}' not found`)
    const issued = await issuedCertificate('shop.example.com')
    // a certificate of another region is not found there
    const west = new ElasticLoadBalancingV2Client(sdkConfig(emu, { region: 'us-west-2' }))
    const westEc2 = new EC2Client(sdkConfig(emu, { region: 'us-west-2' }))
    const westSubnets = ((await westEc2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map(
      (s) => s.SubnetId ?? ''
    )
    const westLb = await west.send(new CreateLoadBalancerCommand({ Name: 'west', Subnets: westSubnets.slice(0, 2) }))
    const elsewhere = await failure(
      west.send(
        new CreateListenerCommand({
          LoadBalancerArn: westLb.LoadBalancers?.[0]?.LoadBalancerArn,
          Protocol: 'HTTPS',
          Port: 443,
          Certificates: [{ CertificateArn: issued }],
          DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }]
        })
      )
    )
    expect(westLb.LoadBalancers?.[0]?.CanonicalHostedZoneId).toBe('Z1H1FL5HABSF5')
    west.destroy()
    westEc2.destroy()
    expect(elsewhere.name).toBe('CertificateNotFoundException')
    const out = await elb.send(https(issued))
    const listener = out.Listeners?.[0]
    expect(listener?.Certificates).toEqual([{ CertificateArn: issued }])
    expect(listener?.SslPolicy).toBe('ELBSecurityPolicy-2016-08')
    // turning it into HTTP drops its certificate; HTTPS again without one is refused
    const plain = await elb.send(new ModifyListenerCommand({ ListenerArn: listener?.ListenerArn, Protocol: 'HTTP' }))
    expect(plain.Listeners?.[0]?.Certificates).toBeUndefined()
    const back = await failure(
      elb.send(new ModifyListenerCommand({ ListenerArn: listener?.ListenerArn, Protocol: 'HTTPS' }))
    )
    expect(back.code).toBe('ValidationError')
    const listed = await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.arn }))
    expect(listed.Listeners?.map((l) => l.Port)).toEqual([443])
  })
})

describe('rules', () => {
  test('have priorities unique per listener (PriorityInUse), and DescribeRules lists the default rule last', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    const listener = await httpListener(lb.arn, tg)
    const second = await httpListener(lb.arn, tg, 8080)
    const rule = (listenerArn: string, priority: number, host: string): CreateRuleCommand =>
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: priority,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tg }]
      })
    const first = (await elb.send(rule(listener, 10, 'api.example.com'))).Rules?.[0]
    expect(first?.Priority).toBe('10')
    const clash = await failure(elb.send(rule(listener, 10, 'www.example.com')))
    expect(clash.name).toBe('PriorityInUseException')
    expect(clash.code).toBe('PriorityInUse')
    // another listener has its own priorities
    await elb.send(rule(second, 10, 'www.example.com'))
    await elb.send(rule(listener, 5, 'www.example.com'))
    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listener }))).Rules ?? []
    expect(rules.map((r) => r.Priority)).toEqual(['5', '10', 'default'])
    expect(rules[2]?.IsDefault).toBe(true)
    const swapped = await failure(
      elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: first?.RuleArn, Priority: 5 }] }))
    )
    expect(swapped.name).toBe('PriorityInUseException')
    await elb.send(
      new ModifyRuleCommand({
        RuleArn: first?.RuleArn,
        Conditions: [{ Field: 'host-header', Values: ['api2.example.com'] }]
      })
    )
    const defaultRule = await failure(elb.send(new DeleteRuleCommand({ RuleArn: rules[2]?.RuleArn })))
    expect(defaultRule.name).toBe('OperationNotPermittedException')
    const tooManyValues = await failure(
      elb.send(
        new CreateRuleCommand({
          ListenerArn: listener,
          Priority: 99,
          Conditions: [
            { Field: 'host-header', HostHeaderConfig: { Values: ['a.x', 'b.x', 'c.x', 'd.x', 'e.x', 'f.x'] } }
          ],
          Actions: [{ Type: 'forward', TargetGroupArn: tg }]
        })
      )
    )
    expect(tooManyValues.code).toBe('ValidationError')
  })

  test('are at most 100 per load balancer: the 101st is TooManyRules', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    const listener = await httpListener(lb.arn, tg)
    const create = (priority: number): CreateRuleCommand =>
      new CreateRuleCommand({
        ListenerArn: listener,
        Priority: priority,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`h${priority}.example.com`] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: tg }]
      })
    for (let p = 1; p <= 100; p++) await elb.send(create(p))
    const over = await failure(elb.send(create(101)))
    expect(over.name).toBe('TooManyRulesException')
    await elb.send(
      new DeleteRuleCommand({
        RuleArn: (await elb.send(new DescribeRulesCommand({ ListenerArn: listener }))).Rules?.[0]?.RuleArn
      })
    )
    await elb.send(create(101))
  })
})

describe('target groups', () => {
  test('keep their health check settings and attributes, validated', async () => {
    const tg = await targetGroup()
    const d = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg] }))).TargetGroups?.[0]
    expect(d).toMatchObject({
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      TargetType: 'instance',
      HealthCheckPath: '/health',
      HealthCheckPort: 'traffic-port',
      HealthCheckIntervalSeconds: 30,
      HealthyThresholdCount: 5,
      Matcher: { HttpCode: '200-299' }
    })
    const modified = await elb.send(
      new ModifyTargetGroupCommand({ TargetGroupArn: tg, HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2 })
    )
    expect(modified.TargetGroups?.[0]).toMatchObject({ HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2 })
    const badTimeout = await failure(
      elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg, HealthCheckTimeoutSeconds: 10 }))
    )
    expect(badTimeout.code).toBe('ValidationError')
    const attrs = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg }))
    expect(attrs.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '300' })
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tg,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]
      })
    )
    const after = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg }))
    expect(after.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '30' })
    const bad = await failure(
      elb.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: tg,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3601' }]
        })
      )
    )
    expect(bad.name).toBe('InvalidConfigurationRequestException')
  })

  test('in use by a listener or a rule cannot be deleted (ResourceInUse)', async () => {
    const lb = await loadBalancer()
    const used = await targetGroup()
    const byRule = await targetGroup()
    const listener = await httpListener(lb.arn, used)
    await elb.send(
      new CreateRuleCommand({
        ListenerArn: listener,
        Priority: 1,
        Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
        Actions: [{ Type: 'forward', TargetGroupArn: byRule }]
      })
    )
    for (const arn of [used, byRule]) {
      const err = await failure(elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })))
      expect(err.name).toBe('ResourceInUseException')
    }
    const lbs = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [byRule] }))).TargetGroups?.[0]
    expect(lbs?.LoadBalancerArns).toEqual([lb.arn])
    await elb.send(new DeleteListenerCommand({ ListenerArn: listener }))
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: used }))
    await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: byRule }))
    const gone = await failure(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [used] })))
    expect(gone.name).toBe('TargetGroupNotFoundException')
  })
})

describe('targets', () => {
  test('only running instances of the VPC can be registered', async () => {
    const tg = await targetGroup()
    const unknown = await failure(
      elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: 'i-0000000000000000' }] }))
    )
    expect(unknown.name).toBe('InvalidTargetException')
    const id = await runningInstance()
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))
    await emu.waitIdle()
    const stopped = await failure(elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] })))
    expect(stopped.message).toBe(`The following targets are not in a running state and cannot be registered: '${id}'`)
  })

  test('are unused until a listener forwards to their group, initial, then as the health source says', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    const id = await runningInstance()
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }))
    const unused = (await health(tg))[0]
    expect(unused?.TargetHealth).toEqual({
      State: 'unused',
      Reason: 'Target.NotInUse',
      Description: 'Target group is not configured to receive traffic from the load balancer'
    })
    expect(unused?.Target).toMatchObject({ Id: id, Port: 8080 })
    expect(unused?.HealthCheckPort).toBe('8080')
    // initial checks of 30 s x 5 take 1.5 s at this scale: long enough to be seen
    emu.cloud.simulation.elbTimeScale = 0.01
    try {
      await httpListener(lb.arn, tg)
      expect(await stateOf(tg, id)).toBe('initial')
      await eventually(async () => ((await stateOf(tg, id)) === 'healthy' ? true : undefined), 10_000)
    } finally {
      emu.cloud.simulation.elbTimeScale = 0.001
    }
    const asked: [string, number][] = []
    setTargetHealthSource(emu.cloud, (instanceId, port) => {
      asked.push([instanceId, port])
      return 'unhealthy'
    })
    try {
      const d = (await health(tg))[0]
      expect(d?.TargetHealth).toEqual({
        State: 'unhealthy',
        Reason: 'Target.FailedHealthChecks',
        Description: 'Health checks failed'
      })
      expect(asked).toContainEqual([id, 8080])
      setTargetHealthSource(emu.cloud, () => 'unknown')
      expect((await health(tg))[0]?.TargetHealth?.Reason).toBe('Target.Timeout')
    } finally {
      setTargetHealthSource(emu.cloud, undefined)
    }
    // a target asked for by id but not registered
    const other = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tg, Targets: [{ Id: 'i-0123456789abcdef0' }] })
    )
    expect(other.TargetHealthDescriptions?.[0]?.TargetHealth?.Reason).toBe('Target.NotRegistered')
  })

  test('drain for the deregistration delay after DeregisterTargets, then are gone', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    await httpListener(lb.arn, tg)
    // 3000 s of AWS time, 3 s at the test's time scale
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tg,
        Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '3000' }]
      })
    )
    const id = await runningInstance()
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }))
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }))
    expect((await health(tg))[0]?.TargetHealth).toEqual({
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
      Description: 'Target deregistration is in progress'
    })
    const again = await failure(
      elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: 'i-0123456789abcdef0' }] }))
    )
    expect(again.name).toBe('InvalidTargetException')
    await eventually(async () => ((await health(tg)).length === 0 ? true : undefined), 10_000)
  })

  test('are registered and deregistered by the hook Auto Scaling uses, at the group port', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    await httpListener(lb.arn, tg)
    const ids = [await runningInstance(subnets[0]), await runningInstance(subnets[1])]
    registerGroupTargets(emu.cloud, tg, ids)
    const described = await health(tg)
    expect(described.map((d) => d.Target?.Id).sort()).toEqual([...ids].sort())
    expect(described.every((d) => d.Target?.Port === 8080)).toBe(true)
    expect(() => registerGroupTargets(emu.cloud, `${tg}0`, ids)).toThrow(/not found/)
  })

  test('in an Availability Zone the load balancer does not use are unused', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    await httpListener(lb.arn, tg)
    const id = await runningInstance(subnets[2])
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: id }] }))
    expect((await health(tg))[0]?.TargetHealth?.Description).toBe(
      'Target is in an Availability Zone that is not enabled for the load balancer'
    )
  })
})

describe('tags', () => {
  test('are added, described by ARN and removed on load balancers and target groups', async () => {
    const lb = await loadBalancer()
    const tg = await targetGroup()
    await elb.send(
      new AddTagsCommand({ ResourceArns: [lb.arn, tg], Tags: [{ Key: 'hyperform:stack', Value: 'shop' }] })
    )
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: [lb.arn, tg] }))
    expect(out.TagDescriptions).toEqual([
      { ResourceArn: lb.arn, Tags: [{ Key: 'hyperform:stack', Value: 'shop' }] },
      { ResourceArn: tg, Tags: [{ Key: 'hyperform:stack', Value: 'shop' }] }
    ])
    await elb.send(new RemoveTagsCommand({ ResourceArns: [tg], TagKeys: ['hyperform:stack'] }))
    const after = await elb.send(new DescribeTagsCommand({ ResourceArns: [tg] }))
    expect(after.TagDescriptions?.[0]?.Tags).toEqual([])
    const twice = await failure(
      elb.send(
        new AddTagsCommand({
          ResourceArns: [tg],
          Tags: [
            { Key: 'k', Value: '1' },
            { Key: 'k', Value: '2' }
          ]
        })
      )
    )
    expect(twice.name).toBe('DuplicateTagKeysException')
    const unknown = await failure(elb.send(new DescribeTagsCommand({ ResourceArns: [`${lb.arn}0`] })))
    expect(unknown.name).toBe('LoadBalancerNotFoundException')
  })
})

describe('authorization', () => {
  test('a role session needs the action on the resource, and AddTags to tag at creation', async () => {
    const tg = await targetGroup()
    const lb = await loadBalancer()
    const config = await roleSession(emu, {
      roleName: 'elb-deployer',
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'elasticloadbalancing:Describe*', Resource: '*' },
          { Effect: 'Allow', Action: 'elasticloadbalancing:CreateLoadBalancer', Resource: '*' },
          { Effect: 'Allow', Action: 'elasticloadbalancing:RegisterTargets', Resource: lb.arn }
        ]
      }
    })
    const deployer = new ElasticLoadBalancingV2Client(config)
    try {
      await deployer.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg] }))
      const tagged = await failure(
        deployer.send(
          new CreateLoadBalancerCommand({
            Name: 'tagged',
            Subnets: subnets.slice(0, 2).map((s) => s.id),
            Tags: [{ Key: 'stack', Value: 'shop' }]
          })
        )
      )
      expect(tagged.code).toBe('AccessDenied')
      expect(tagged.message).toContain('elasticloadbalancing:AddTags')
      await deployer.send(
        new CreateLoadBalancerCommand({ Name: 'untagged', Subnets: subnets.slice(0, 2).map((s) => s.id) })
      )
      const register = await failure(
        deployer.send(new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: 'i-1' }] }))
      )
      expect(register.code).toBe('AccessDenied')
      expect(register.message).toContain(`elasticloadbalancing:RegisterTargets on resource: ${tg}`)
    } finally {
      deployer.destroy()
    }
  })
})
