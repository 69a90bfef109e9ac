import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { CreateLoadBalancerCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  AssociateVPCWithHostedZoneCommand,
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesByVPCCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ResourceRecordSet
} from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

const REGION = 'us-east-1'
let emu: Emulator
let r53: Route53Client
let zoneSeq = 0

function client(maxAttempts = 1): Route53Client {
  return new Route53Client({
    endpoint: emu.endpoint,
    region: REGION,
    maxAttempts,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
  })
}

function addVpc(vpcId: string, dns = true): void {
  emu.cloud.shared.vpcs.set(vpcId, {
    vpcId,
    region: REGION,
    cidrBlock: '10.9.0.0/16',
    enableDnsSupport: dns,
    enableDnsHostnames: dns
  })
}

async function newZone(name = `z${++zoneSeq}.us-east-1.internal`): Promise<string> {
  const out = await r53.send(
    new CreateHostedZoneCommand({
      Name: name,
      CallerReference: `ref-${name}-${zoneSeq}`,
      VPC: { VPCId: 'vpc-dns', VPCRegion: REGION }
    })
  )
  return out.HostedZone?.Id ?? ''
}

function a(name: string, ttl: number, ...ips: string[]): ResourceRecordSet {
  return { Name: name, Type: 'A', TTL: ttl, ResourceRecords: ips.map((Value) => ({ Value })) }
}

function change(HostedZoneId: string, ...Changes: Change[]): ChangeResourceRecordSetsCommand {
  return new ChangeResourceRecordSetsCommand({ HostedZoneId, ChangeBatch: { Changes } })
}

async function records(zoneId: string): Promise<ResourceRecordSet[]> {
  return (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? []
}

async function failure(
  promise: Promise<unknown>
): Promise<{ name: string; message: string; status?: number; messages?: string[] }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number }; messages?: string[] }
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode, messages: e.messages }
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  emu = await startEmulator({ faults: { seed: 7 } })
  r53 = client()
  addVpc('vpc-dns')
})

afterAll(async () => {
  await emu.stop()
})

afterEach(() => {
  emu.setFaults({ throttleRate: 0, route53OneChangeAtATime: false })
})

describe('Route 53 hosted zones', () => {
  test('a private zone is created with its VPC, an AWS-style id, and SOA and NS records', async () => {
    const out = await r53.send(
      new CreateHostedZoneCommand({
        Name: 'prj-demo.us-east-1.internal',
        CallerReference: 'create-1',
        VPC: { VPCId: 'vpc-dns', VPCRegion: REGION },
        HostedZoneConfig: { Comment: 'demo', PrivateZone: true }
      })
    )
    expect(out.$metadata.httpStatusCode).toBe(201)
    expect(out.HostedZone?.Id).toMatch(/^\/hostedzone\/Z[0-9A-Z]{20}$/)
    expect(out.HostedZone?.Name).toBe('prj-demo.us-east-1.internal.')
    expect(out.ChangeInfo?.Status).toBe('PENDING')
    const got = await r53.send(new GetHostedZoneCommand({ Id: out.HostedZone?.Id }))
    expect(got.HostedZone?.Config).toEqual({ Comment: 'demo', PrivateZone: true })
    expect(got.VPCs).toEqual([{ VPCId: 'vpc-dns', VPCRegion: REGION }])
    const types = (await records(out.HostedZone?.Id ?? '')).map((r) => `${r.Name} ${r.Type}`)
    expect(types).toEqual(['prj-demo.us-east-1.internal. NS', 'prj-demo.us-east-1.internal. SOA'])
  })

  test('reusing a CallerReference fails with HostedZoneAlreadyExists', async () => {
    await r53.send(
      new CreateHostedZoneCommand({
        Name: 'again.internal',
        CallerReference: 'same-ref',
        VPC: { VPCId: 'vpc-dns', VPCRegion: REGION }
      })
    )
    const err = await failure(
      r53.send(
        new CreateHostedZoneCommand({
          Name: 'again.internal',
          CallerReference: 'same-ref',
          VPC: { VPCId: 'vpc-dns', VPCRegion: REGION }
        })
      )
    )
    expect(err.name).toBe('HostedZoneAlreadyExists')
    expect(err.status).toBe(409)
  })

  test('a second private zone with the same name on the same VPC fails with ConflictingDomainExists', async () => {
    await r53.send(
      new CreateHostedZoneCommand({
        Name: 'twin.internal',
        CallerReference: 'twin-1',
        VPC: { VPCId: 'vpc-dns', VPCRegion: REGION }
      })
    )
    const err = await failure(
      r53.send(
        new CreateHostedZoneCommand({
          Name: 'twin.internal.',
          CallerReference: 'twin-2',
          VPC: { VPCId: 'vpc-dns', VPCRegion: REGION }
        })
      )
    )
    expect(err.name).toBe('ConflictingDomainExists')
  })

  test('a private zone needs an existing VPC with DNS support and DNS hostnames', async () => {
    const missing = await failure(
      r53.send(
        new CreateHostedZoneCommand({
          Name: 'x.internal',
          CallerReference: 'no-vpc',
          VPC: { VPCId: 'vpc-missing', VPCRegion: REGION }
        })
      )
    )
    expect(missing.name).toBe('InvalidVPCId')
    addVpc('vpc-nodns', false)
    const noDns = await failure(
      r53.send(
        new CreateHostedZoneCommand({
          Name: 'x.internal',
          CallerReference: 'no-dns',
          VPC: { VPCId: 'vpc-nodns', VPCRegion: REGION }
        })
      )
    )
    expect(noDns.name).toBe('InvalidVPCId')
    expect(noDns.message).toContain('enableDnsHostnames')
  })

  test('ListHostedZonesByName starts at the given name and pages with NextDNSName', async () => {
    await newZone('aaa.byname.internal')
    await newZone('bbb.byname.internal')
    const first = await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'aaa.byname.internal', MaxItems: 1 }))
    expect(first.HostedZones?.map((z) => z.Name)).toEqual(['aaa.byname.internal.'])
    expect(first.IsTruncated).toBe(true)
    expect(first.NextDNSName).toBe('bbb.byname.internal.')
    const second = await r53.send(
      new ListHostedZonesByNameCommand({
        DNSName: first.NextDNSName,
        HostedZoneId: first.NextHostedZoneId,
        MaxItems: 1
      })
    )
    expect(second.HostedZones?.[0]?.Name).toBe('bbb.byname.internal.')
  })

  test('ListHostedZonesByVPC lists only the zones associated with that VPC', async () => {
    addVpc('vpc-other')
    await r53.send(
      new CreateHostedZoneCommand({
        Name: 'other.internal',
        CallerReference: 'other-vpc',
        VPC: { VPCId: 'vpc-other', VPCRegion: REGION }
      })
    )
    const out = await r53.send(new ListHostedZonesByVPCCommand({ VPCId: 'vpc-other', VPCRegion: REGION }))
    expect(out.HostedZoneSummaries?.map((z) => z.Name)).toEqual(['other.internal.'])
    expect(out.HostedZoneSummaries?.[0]?.HostedZoneId).toMatch(/^Z[0-9A-Z]{20}$/)
  })

  test('a zone with records other than SOA and NS cannot be deleted until they are removed', async () => {
    const id = await newZone()
    const zoneName = `z${zoneSeq}.us-east-1.internal`
    await r53.send(change(id, { Action: 'CREATE', ResourceRecordSet: a(`db.${zoneName}`, 60, '172.28.0.10') }))
    expect((await failure(r53.send(new DeleteHostedZoneCommand({ Id: id })))).name).toBe('HostedZoneNotEmpty')
    await r53.send(change(id, { Action: 'DELETE', ResourceRecordSet: a(`db.${zoneName}`, 60, '172.28.0.10') }))
    const deleted = await r53.send(new DeleteHostedZoneCommand({ Id: id }))
    expect(deleted.ChangeInfo?.Id).toMatch(/^\/change\/C/)
    const gone = await failure(r53.send(new GetHostedZoneCommand({ Id: id })))
    expect([gone.name, gone.status]).toEqual(['NoSuchHostedZone', 404])
  })
})

describe('Route 53 record changes', () => {
  test('UPSERT creates a record set and a second UPSERT replaces all of its values', async () => {
    const id = await newZone('up.internal')
    await r53.send(
      change(id, { Action: 'UPSERT', ResourceRecordSet: a('Web.up.internal', 60, '172.28.0.1', '172.28.0.2') })
    )
    await r53.send(change(id, { Action: 'UPSERT', ResourceRecordSet: a('web.up.internal.', 30, '172.28.0.3') }))
    const web = (await records(id)).filter((r) => r.Type === 'A')
    expect(web).toEqual([{ Name: 'web.up.internal.', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '172.28.0.3' }] }])
  })

  test('CREATE of an existing record set fails with InvalidChangeBatch naming the record', async () => {
    const id = await newZone('create.internal')
    await r53.send(change(id, { Action: 'CREATE', ResourceRecordSet: a('db.create.internal', 60, '172.28.0.1') }))
    const err = await failure(
      r53.send(change(id, { Action: 'CREATE', ResourceRecordSet: a('db.create.internal', 60, '172.28.0.1') }))
    )
    expect(err.name).toBe('InvalidChangeBatch')
    expect(err.message).toContain(
      "Tried to create resource record set [name='db.create.internal.', type='A'] but it already exists"
    )
  })

  test('DELETE must match the TTL and every value exactly', async () => {
    const id = await newZone('del.internal')
    await r53.send(
      change(id, { Action: 'CREATE', ResourceRecordSet: a('db.del.internal', 60, '172.28.0.1', '172.28.0.2') })
    )
    const wrongTtl = await failure(
      r53.send(
        change(id, { Action: 'DELETE', ResourceRecordSet: a('db.del.internal', 61, '172.28.0.1', '172.28.0.2') })
      )
    )
    expect(wrongTtl.name).toBe('InvalidChangeBatch')
    expect(wrongTtl.message).toContain('the values provided do not match the current values')
    const missingValue = await failure(
      r53.send(change(id, { Action: 'DELETE', ResourceRecordSet: a('db.del.internal', 60, '172.28.0.1') }))
    )
    expect(missingValue.name).toBe('InvalidChangeBatch')
    const notFound = await failure(
      r53.send(change(id, { Action: 'DELETE', ResourceRecordSet: a('nope.del.internal', 60, '172.28.0.1') }))
    )
    expect(notFound.message).toContain('but it was not found')
    await r53.send(
      change(id, { Action: 'DELETE', ResourceRecordSet: a('db.del.internal', 60, '172.28.0.2', '172.28.0.1') })
    )
    expect((await records(id)).filter((r) => r.Type === 'A')).toEqual([])
  })

  test('a batch is all or nothing: one bad change leaves the zone untouched and every problem is listed', async () => {
    const id = await newZone('batch.internal')
    const err = await failure(
      r53.send(
        change(
          id,
          { Action: 'UPSERT', ResourceRecordSet: a('ok.batch.internal', 60, '172.28.0.1') },
          { Action: 'DELETE', ResourceRecordSet: a('missing.batch.internal', 60, '172.28.0.9') },
          { Action: 'UPSERT', ResourceRecordSet: a('bad.batch.internal', 60, 'not-an-ip') }
        )
      )
    )
    expect(err.name).toBe('InvalidChangeBatch')
    expect(err.messages).toHaveLength(2)
    expect((await records(id)).map((r) => r.Type)).toEqual(['NS', 'SOA'])
  })

  test('an A record set cannot be empty and a record outside the zone is refused', async () => {
    const id = await newZone('empty.internal')
    const empty = await failure(
      r53.send(
        change(id, {
          Action: 'UPSERT',
          ResourceRecordSet: { Name: 'x.empty.internal', Type: 'A', TTL: 60, ResourceRecords: [] }
        })
      )
    )
    expect(empty.name).toBe('InvalidInput')
    const outside = await failure(
      r53.send(change(id, { Action: 'UPSERT', ResourceRecordSet: a('x.elsewhere.internal', 60, '172.28.0.1') }))
    )
    expect(outside.name).toBe('InvalidChangeBatch')
    expect(outside.message).toContain('is not permitted in zone empty.internal.')
  })

  test('a DNS label longer than 63 characters is refused', async () => {
    const id = await newZone('long.internal')
    const err = await failure(
      r53.send(
        change(id, { Action: 'UPSERT', ResourceRecordSet: a(`${'x'.repeat(64)}.long.internal`, 60, '172.28.0.1') })
      )
    )
    expect(err.name).toBe('InvalidChangeBatch')
    expect(err.message).toContain('DomainLabelTooLong')
  })

  test('the apex SOA record cannot be deleted', async () => {
    const id = await newZone('apex.internal')
    const soa = (await records(id)).find((r) => r.Type === 'SOA')
    const err = await failure(r53.send(change(id, { Action: 'DELETE', ResourceRecordSet: soa })))
    expect(err.name).toBe('InvalidChangeBatch')
    expect(err.message).toContain('exactly one SOA record')
  })

  test('ListResourceRecordSets sorts names by reversed labels then type, and pages with NextRecordName and NextRecordType', async () => {
    const id = await newZone('sort.internal')
    await r53.send(
      change(
        id,
        { Action: 'CREATE', ResourceRecordSet: a('b.sort.internal', 60, '172.28.0.2') },
        { Action: 'CREATE', ResourceRecordSet: a('a.x.sort.internal', 60, '172.28.0.3') },
        { Action: 'CREATE', ResourceRecordSet: a('a.sort.internal', 60, '172.28.0.1') },
        {
          Action: 'CREATE',
          ResourceRecordSet: { Name: 'a.sort.internal', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"hello"' }] }
        }
      )
    )
    const all = (await records(id)).map((r) => `${r.Name} ${r.Type}`)
    expect(all).toEqual([
      'sort.internal. NS',
      'sort.internal. SOA',
      'a.sort.internal. A',
      'a.sort.internal. TXT',
      'b.sort.internal. A',
      'a.x.sort.internal. A'
    ])
    const page = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: id,
        StartRecordName: 'a.sort.internal',
        StartRecordType: 'TXT',
        MaxItems: 1
      })
    )
    expect(page.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual(['a.sort.internal. TXT'])
    expect([page.IsTruncated, page.NextRecordName, page.NextRecordType]).toEqual([true, 'b.sort.internal.', 'A'])
  })

  test('a change is PENDING until Route 53 has synced it, then INSYNC', async () => {
    const slow = await startEmulator({ simulation: { route53SyncMs: 300 } })
    try {
      slow.cloud.shared.vpcs.set('vpc-s', {
        vpcId: 'vpc-s',
        region: REGION,
        cidrBlock: '10.0.0.0/16',
        enableDnsSupport: true,
        enableDnsHostnames: true
      })
      const c = new Route53Client({
        endpoint: slow.endpoint,
        region: REGION,
        maxAttempts: 1,
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
      })
      const zone = await c.send(
        new CreateHostedZoneCommand({
          Name: 'sync.internal',
          CallerReference: 'sync',
          VPC: { VPCId: 'vpc-s', VPCRegion: REGION }
        })
      )
      const id = zone.HostedZone?.Id ?? ''
      await new Promise((r) => setTimeout(r, 320))
      const out = await c.send(
        change(id, { Action: 'UPSERT', ResourceRecordSet: a('s.sync.internal', 60, '172.28.0.1') })
      )
      expect((await c.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe('PENDING')
      slow.setFaults({ route53OneChangeAtATime: true })
      const busy = await failure(
        c.send(change(id, { Action: 'UPSERT', ResourceRecordSet: a('s.sync.internal', 60, '172.28.0.2') }))
      )
      expect([busy.name, busy.status]).toEqual(['PriorRequestNotComplete', 400])
      await new Promise((r) => setTimeout(r, 320))
      expect((await c.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe('INSYNC')
      await c.send(change(id, { Action: 'UPSERT', ResourceRecordSet: a('s.sync.internal', 60, '172.28.0.2') }))
    } finally {
      await slow.stop()
    }
  })

  test('an unknown change id fails with NoSuchChange', async () => {
    const err = await failure(r53.send(new GetChangeCommand({ Id: '/change/C0NOPE' })))
    expect([err.name, err.status]).toEqual(['NoSuchChange', 404])
  })

  test('injected throttling surfaces as the Throttling code with status 400', async () => {
    emu.setFaults({ throttleRate: 1 })
    const err = await failure(r53.send(new ListHostedZonesByNameCommand({})))
    expect([err.name, err.status]).toEqual(['Throttling', 400])
  })
})

describe('Route 53 public zones', () => {
  let elb: ElasticLoadBalancingV2Client
  let lb: { dnsName: string; zoneId: string }

  beforeAll(async () => {
    elb = new ElasticLoadBalancingV2Client({ ...sdkConfig(emu), region: REGION })
    const ec2 = new EC2Client({ ...sdkConfig(emu), region: REGION })
    const subnets = ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => s.SubnetId ?? '')
    ec2.destroy()
    const out = await elb.send(new CreateLoadBalancerCommand({ Name: 'public', Subnets: subnets.slice(0, 2) }))
    lb = { dnsName: out.LoadBalancers?.[0]?.DNSName ?? '', zoneId: out.LoadBalancers?.[0]?.CanonicalHostedZoneId ?? '' }
  })

  afterAll(() => elb.destroy())

  async function publicZone(name: string): Promise<string> {
    const out = await r53.send(
      new CreateHostedZoneCommand({ Name: name, CallerReference: `public-${name}-${++zoneSeq}` })
    )
    return out.HostedZone?.Id ?? ''
  }

  function alias(name: string, dnsName: string, hostedZoneId: string, type: 'A' | 'AAAA' = 'A'): Change {
    return {
      Action: 'UPSERT',
      ResourceRecordSet: {
        Name: name,
        Type: type,
        AliasTarget: { HostedZoneId: hostedZoneId, DNSName: dnsName, EvaluateTargetHealth: true }
      }
    }
  }

  test('a zone created without a VPC is public, with a delegation set of four name servers', async () => {
    const out = await r53.send(
      new CreateHostedZoneCommand({ Name: 'shop.example.com', CallerReference: 'public-shop' })
    )
    expect(out.HostedZone?.Config?.PrivateZone).toBe(false)
    expect(out.VPC).toBeUndefined()
    const servers = out.DelegationSet?.NameServers ?? []
    expect(servers).toHaveLength(4)
    for (const tld of ['.com', '.net', '.org', '.co.uk']) expect(servers.some((s) => s.endsWith(tld))).toBe(true)
    const id = out.HostedZone?.Id ?? ''
    const got = await r53.send(new GetHostedZoneCommand({ Id: id }))
    expect(got.DelegationSet?.NameServers).toEqual(servers)
    expect(got.VPCs).toBeUndefined()
    const ns = (await records(id)).find((r) => r.Type === 'NS')
    expect(ns?.ResourceRecords?.map((r) => r.Value)).toEqual(servers.map((s) => `${s}.`))
    const byName = await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'shop.example.com' }))
    expect(byName.HostedZones?.[0]).toMatchObject({ Id: id, Name: 'shop.example.com.', Config: { PrivateZone: false } })
    const privateOnly = await r53.send(new ListHostedZonesCommand({ HostedZoneType: 'PrivateHostedZone' }))
    expect(privateOnly.HostedZones?.length).toBeGreaterThan(0)
    expect(privateOnly.HostedZones?.every((z) => z.Config?.PrivateZone === true)).toBe(true)
    const all = await r53.send(new ListHostedZonesCommand({}))
    expect(all.HostedZones?.map((z) => z.Id)).toContain(id)
    const byVpc = await r53.send(new ListHostedZonesByVPCCommand({ VPCId: 'vpc-dns', VPCRegion: REGION }))
    expect(byVpc.HostedZoneSummaries?.map((z) => z.HostedZoneId)).not.toContain(id.replace('/hostedzone/', ''))
    const err = await failure(
      r53.send(
        new AssociateVPCWithHostedZoneCommand({ HostedZoneId: id, VPC: { VPCId: 'vpc-dns', VPCRegion: REGION } })
      )
    )
    expect(err.name).toBe('PublicZoneVPCAssociation')
  })

  test('PrivateZone without a VPC is refused', async () => {
    const err = await failure(
      r53.send(
        new CreateHostedZoneCommand({
          Name: 'private.example.com',
          CallerReference: 'private-without-vpc',
          HostedZoneConfig: { PrivateZone: true }
        })
      )
    )
    expect(err.name).toBe('InvalidInput')
  })

  test("an alias A record to a load balancer with its region's canonical hosted zone id is accepted", async () => {
    const id = await publicZone('alias.example.com')
    await r53.send(change(id, alias('alias.example.com', lb.dnsName, lb.zoneId)))
    await r53.send(change(id, alias('www.alias.example.com', `dualstack.${lb.dnsName}`, lb.zoneId, 'AAAA')))
    const apex = (await records(id)).find((r) => r.Name === 'alias.example.com.' && r.Type === 'A')
    expect(apex?.AliasTarget).toEqual({
      HostedZoneId: lb.zoneId,
      DNSName: `${lb.dnsName}.`,
      EvaluateTargetHealth: true
    })
    expect(apex?.TTL).toBeUndefined()
  })

  test('an alias to a name that is no load balancer, or with another region’s zone id, is InvalidChangeBatch', async () => {
    const id = await publicZone('bad-alias.example.com')
    const unknown = await failure(
      r53.send(change(id, alias('bad-alias.example.com', 'nope-1.us-east-1.elb.amazonaws.com', lb.zoneId)))
    )
    expect(unknown.name).toBe('InvalidChangeBatch')
    expect(unknown.messages).toEqual([
      `Tried to create an alias that targets nope-1.us-east-1.elb.amazonaws.com., type A in zone ${lb.zoneId}, but the alias target name does not lie within the target zone`
    ])
    const westZone = 'Z1H1FL5HABSF5'
    const wrongRegion = await failure(r53.send(change(id, alias('bad-alias.example.com', lb.dnsName, westZone))))
    expect(wrongRegion.messages?.[0]).toBe(
      `Tried to create an alias that targets ${lb.dnsName}., type A in zone ${westZone}, but the alias target name does not lie within the target zone`
    )
    expect((await records(id)).map((r) => r.Type).sort()).toEqual(['NS', 'SOA'])
  })

  test('an alias to a record of a zone must name an existing record within that zone', async () => {
    const id = await publicZone('inner.example.com')
    const bare = id.replace('/hostedzone/', '')
    const missing = await failure(r53.send(change(id, alias('www.inner.example.com', 'app.inner.example.com', bare))))
    expect(missing.messages?.[0]).toMatch(
      /^Tried to create an alias that targets app\.inner\.example\.com\., type A in zone .*, but that target was not found$/
    )
    await r53.send(
      change(
        id,
        { Action: 'CREATE', ResourceRecordSet: a('app.inner.example.com', 60, '203.0.113.7') },
        alias('www.inner.example.com', 'app.inner.example.com', bare)
      )
    )
    const outside = await failure(r53.send(change(id, alias('x.inner.example.com', 'elsewhere.example.net', bare))))
    expect(outside.messages?.[0]).toContain('but the alias target name does not lie within the target zone')
  })
})
