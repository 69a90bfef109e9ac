import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
  RequestCertificateCommand,
  type CertificateDetail,
  type ResourceRecord
} from '@aws-sdk/client-acm'
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2'
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteListenerCommand,
  ElasticLoadBalancingV2Client
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let acm: ACMClient
let r53: Route53Client
let seq = 0

beforeAll(async () => {
  emu = await startEmulator({ simulation: { acmValidationRecordMs: 20, elbTimeScale: 0.001, agentStandIn: false } })
  acm = new ACMClient(sdkConfig(emu))
  r53 = new Route53Client(sdkConfig(emu))
})

afterAll(async () => {
  acm.destroy()
  r53.destroy()
  await emu.stop()
})

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message }
  }
  throw new Error('expected the call to fail')
}

async function describe_(arn: string | undefined): Promise<CertificateDetail> {
  const out = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))
  return out.Certificate ?? {}
}

/** The validation record, once DescribeCertificate shows it. */
async function validationRecord(arn: string | undefined, index = 0): Promise<ResourceRecord> {
  return eventually(async () => (await describe_(arn)).DomainValidationOptions?.[index]?.ResourceRecord)
}

async function zone(name: string, vpc?: string): Promise<string> {
  const out = await r53.send(
    new CreateHostedZoneCommand({
      Name: name,
      CallerReference: `ref-${name}-${++seq}`,
      ...(vpc ? { VPC: { VPCId: vpc, VPCRegion: 'us-east-1' } } : {})
    })
  )
  return out.HostedZone?.Id ?? ''
}

async function cname(zoneId: string, record: ResourceRecord): Promise<void> {
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: record.Name,
              Type: 'CNAME',
              TTL: 300,
              ResourceRecords: [{ Value: record.Value }]
            }
          }
        ]
      }
    })
  )
}

async function request(domain: string, sans?: string[]): Promise<string> {
  const out = await acm.send(
    new RequestCertificateCommand({ DomainName: domain, ValidationMethod: 'DNS', SubjectAlternativeNames: sans })
  )
  return out.CertificateArn ?? ''
}

describe('a DNS-validated certificate', () => {
  test('is issued only once its validation CNAME is in a public hosted zone of the account', async () => {
    const arn = await request('shop.example.org', ['www.shop.example.org'])
    expect(arn).toMatch(/^arn:aws:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/)
    const pending = await describe_(arn)
    expect(pending.Status).toBe('PENDING_VALIDATION')
    expect(pending.SubjectAlternativeNames).toEqual(['shop.example.org', 'www.shop.example.org'])
    expect(pending.NotAfter).toBeUndefined()
    const first = await validationRecord(arn, 0)
    const second = await validationRecord(arn, 1)
    expect(first.Type).toBe('CNAME')
    expect(first.Name).toMatch(/^_[0-9a-f]{32}\.shop\.example\.org\.$/)
    expect(first.Value).toMatch(/^_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\.$/)

    // a private zone of the same name does not count
    const ec2 = new EC2Client(sdkConfig(emu))
    const vpc = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.VpcId
    ec2.destroy()
    await cname(await zone('shop.example.org', vpc), first)
    await cname(await zone('www.shop.example.org', vpc), second)
    expect((await describe_(arn)).Status).toBe('PENDING_VALIDATION')

    const publicZone = await zone('example.org')
    await cname(publicZone, first)
    const half = await describe_(arn)
    expect(half.Status).toBe('PENDING_VALIDATION')
    expect(half.DomainValidationOptions?.map((d) => d.ValidationStatus)).toEqual(['SUCCESS', 'PENDING_VALIDATION'])

    await cname(publicZone, { ...second, Value: 'wrong.acm-validations.aws.' })
    expect((await describe_(arn)).Status).toBe('PENDING_VALIDATION')
    await cname(publicZone, second)
    const issued = await describe_(arn)
    expect(issued.Status).toBe('ISSUED')
    expect(issued.Type).toBe('AMAZON_ISSUED')
    expect(issued.IssuedAt).toBeInstanceOf(Date)
    const days = ((issued.NotAfter?.getTime() ?? 0) - (issued.NotBefore?.getTime() ?? 0)) / 86_400_000
    expect(days).toBe(395)
  })

  test('of a wildcard name is validated by the record of its base domain, shared by later certificates', async () => {
    const first = await request('*.api.example.org')
    const record = await validationRecord(first)
    expect(record.Name).toMatch(/^_[0-9a-f]{32}\.api\.example\.org\.$/)
    const second = await request('api.example.org')
    expect(await validationRecord(second)).toEqual(record)
    await cname(await zone('api.example.org'), record)
    expect((await describe_(first)).Status).toBe('ISSUED')
    expect((await describe_(second)).Status).toBe('ISSUED')
  })

  test('requested twice with one IdempotencyToken is one certificate', async () => {
    const ask = (): Promise<{ CertificateArn?: string }> =>
      acm.send(
        new RequestCertificateCommand({
          DomainName: 'idem.example.org',
          ValidationMethod: 'DNS',
          IdempotencyToken: 'deploy1'
        })
      )
    expect((await ask()).CertificateArn).toBe((await ask()).CertificateArn)
    const other = await acm.send(
      new RequestCertificateCommand({
        DomainName: 'idem.example.org',
        ValidationMethod: 'DNS',
        IdempotencyToken: 'deploy2'
      })
    )
    expect(other.CertificateArn).not.toBe((await ask()).CertificateArn)
  })
})

describe('certificates', () => {
  test('are listed by status, a page at a time', async () => {
    const pendingArn = await request('list-pending.example.net')
    const issuedArn = await request('list.example.org')
    await cname(await zone('list.example.org'), await validationRecord(issuedArn))
    const issued = await acm.send(new ListCertificatesCommand({ CertificateStatuses: ['ISSUED'] }))
    const arns = issued.CertificateSummaryList?.map((c) => c.CertificateArn)
    expect(arns).toContain(issuedArn)
    expect(arns).not.toContain(pendingArn)
    const pending = await acm.send(new ListCertificatesCommand({ CertificateStatuses: ['PENDING_VALIDATION'] }))
    expect(pending.CertificateSummaryList?.map((c) => c.CertificateArn)).toContain(pendingArn)
    const seen: string[] = []
    let token: string | undefined
    do {
      const out = await acm.send(new ListCertificatesCommand({ MaxItems: 2, NextToken: token }))
      expect((out.CertificateSummaryList ?? []).length).toBeLessThanOrEqual(2)
      seen.push(...(out.CertificateSummaryList ?? []).map((c) => c.CertificateArn ?? ''))
      token = out.NextToken
    } while (token)
    expect(seen).toEqual(expect.arrayContaining([pendingArn, issuedArn]))
    expect(new Set(seen).size).toBe(seen.length)
  })

  test('in use by a listener cannot be deleted (ResourceInUseException), and name the load balancer in InUseBy', async () => {
    const arn = await request('inuse.example.org')
    await cname(await zone('inuse.example.org'), await validationRecord(arn))
    const ec2 = new EC2Client(sdkConfig(emu))
    const elb = new ElasticLoadBalancingV2Client(sdkConfig(emu))
    try {
      const subnets = ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => s.SubnetId ?? '')
      const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'tls', Subnets: subnets.slice(0, 2) })))
        .LoadBalancers?.[0]
      const listener = await elb.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb?.LoadBalancerArn,
          Protocol: 'HTTPS',
          Port: 443,
          Certificates: [{ CertificateArn: arn }],
          DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }]
        })
      )
      expect((await describe_(arn)).InUseBy).toEqual([lb?.LoadBalancerArn])
      const err = await failure(acm.send(new DeleteCertificateCommand({ CertificateArn: arn })))
      expect(err.name).toBe('ResourceInUseException')
      await elb.send(new DeleteListenerCommand({ ListenerArn: listener.Listeners?.[0]?.ListenerArn }))
      await acm.send(new DeleteCertificateCommand({ CertificateArn: arn }))
      expect((await failure(describe_(arn))).name).toBe('ResourceNotFoundException')
    } finally {
      ec2.destroy()
      elb.destroy()
    }
  })

  test('carry tags', async () => {
    const arn = await request('tags.example.org')
    await acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: 'stack', Value: 'shop' }] }))
    expect((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags).toEqual([
      { Key: 'stack', Value: 'shop' }
    ])
    await acm.send(new RemoveTagsFromCertificateCommand({ CertificateArn: arn, Tags: [{ Key: 'stack' }] }))
    expect((await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags).toEqual([])
    const reserved = await failure(
      acm.send(new AddTagsToCertificateCommand({ CertificateArn: arn, Tags: [{ Key: 'aws:x', Value: '1' }] }))
    )
    expect(reserved.name).toBe('InvalidTagException')
  })

  test('are found by a well-formed ARN of their region only', async () => {
    expect((await failure(describe_('not-an-arn'))).name).toBe('InvalidArnException')
    const arn = await request('region.example.org')
    const west = new ACMClient(sdkConfig(emu, { region: 'us-west-2' }))
    try {
      const err = await failure(west.send(new DescribeCertificateCommand({ CertificateArn: arn })))
      expect(err.name).toBe('ResourceNotFoundException')
    } finally {
      west.destroy()
    }
    const bad = await failure(
      acm.send(new RequestCertificateCommand({ DomainName: 'not a domain', ValidationMethod: 'DNS' }))
    )
    expect(bad.name).toBe('ValidationException')
  })
})
