/**
 * Prices in the emulator, through the real SDK clients: the Price List Query API (GetProducts, DescribeServices,
 * GetAttributeValues) and EC2's DescribeSpotPriceHistory and DescribeInstanceTypes, all from one catalogue; the
 * control route that moves one spot pool's price.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  DescribeInstanceTypesCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
  paginateDescribeSpotPriceHistory
} from '@aws-sdk/client-ec2'
import type { DescribeSpotPriceHistoryCommandInput, SpotPrice } from '@aws-sdk/client-ec2'
import {
  DescribeServicesCommand,
  ExpiredNextTokenException,
  GetAttributeValuesCommand,
  GetProductsCommand,
  InvalidNextTokenException,
  InvalidParameterException,
  NotFoundException,
  PricingClient,
  paginateGetProducts
} from '@aws-sdk/client-pricing'
import type { Filter } from '@aws-sdk/client-pricing'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { albHourlyPrice, instanceTypeInfo, onDemandPrice } from '../emulator/services/ec2/instance-catalogue.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ec2: EC2Client
let pricing: PricingClient
let control: EmulatorClient

beforeAll(async () => {
  emu = await startEmulator()
  ec2 = new EC2Client(sdkConfig(emu))
  pricing = new PricingClient(sdkConfig(emu))
  control = new EmulatorClient(emu.endpoint)
})

afterAll(async () => {
  ec2.destroy()
  pricing.destroy()
  await emu.stop()
})

interface ProductDocument {
  product: { productFamily: string; sku: string; attributes: Record<string, string> }
  serviceCode: string
  terms: {
    OnDemand: Record<
      string,
      {
        sku: string
        offerTermCode: string
        priceDimensions: Record<string, { unit: string; pricePerUnit: { USD: string }; description: string }>
      }
    >
  }
  version: string
  publicationDate: string
}

const termMatch = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value })

const LINUX_SHARED = [
  termMatch('operatingSystem', 'Linux'),
  termMatch('tenancy', 'Shared'),
  termMatch('preInstalledSw', 'NA'),
  termMatch('capacitystatus', 'Used'),
  termMatch('marketoption', 'OnDemand')
]

/** The one on-demand price dimension of a product document. */
function onlyPrice(doc: ProductDocument): { unit: string; usd: number; description: string } {
  const terms = Object.values(doc.terms.OnDemand)
  expect(terms).toHaveLength(1)
  const dimensions = Object.values(terms[0]?.priceDimensions ?? {})
  expect(dimensions).toHaveLength(1)
  const d = dimensions[0]
  return { unit: d?.unit ?? '', usd: Number(d?.pricePerUnit.USD), description: d?.description ?? '' }
}

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected the call to fail')
}

async function spotPrices(input: DescribeSpotPriceHistoryCommandInput): Promise<SpotPrice[]> {
  const rows: SpotPrice[] = []
  for await (const page of paginateDescribeSpotPriceHistory({ client: ec2 }, input))
    rows.push(...(page.SpotPriceHistory ?? []))
  return rows
}

describe('the Price List Query API', () => {
  test('GetProducts pages through TERM_MATCH results as JSON strings whose price is the catalogue price', async () => {
    const filters = [
      ...LINUX_SHARED,
      termMatch('regionCode', 'us-east-1'),
      termMatch('instanceFamily', 'General purpose')
    ]
    const docs: ProductDocument[] = []
    let pages = 0
    for await (const page of paginateGetProducts(
      { client: pricing, pageSize: 7 },
      { ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v1', Filters: filters }
    )) {
      pages++
      expect(page.FormatVersion).toBe('aws_v1')
      expect(page.PriceList?.length).toBeLessThanOrEqual(7)
      // each entry is a JSON document serialised to a string
      for (const entry of page.PriceList ?? []) docs.push(JSON.parse(String(entry)) as ProductDocument)
    }
    expect(pages).toBeGreaterThan(1)
    const types = docs.map((d) => d.product.attributes.instanceType ?? '')
    expect(new Set(types).size).toBe(types.length)
    expect(types).toEqual(expect.arrayContaining(['t3.micro', 'm5.large', 'm7g.4xlarge', 't4g.nano']))
    expect(types).not.toContain('c5.large')
    for (const doc of docs) {
      expect(doc.serviceCode).toBe('AmazonEC2')
      expect(doc.product.productFamily).toBe('Compute Instance')
      expect(doc.product.attributes).toMatchObject({
        regionCode: 'us-east-1',
        location: 'US East (N. Virginia)',
        operatingSystem: 'Linux',
        tenancy: 'Shared',
        preInstalledSw: 'NA',
        capacitystatus: 'Used',
        marketoption: 'OnDemand'
      })
      const type = doc.product.attributes.instanceType ?? ''
      const price = onlyPrice(doc)
      expect(price.unit).toBe('Hrs')
      expect(price.usd).toBeCloseTo(onDemandPrice(type, 'us-east-1') ?? -1, 10)
      const info = instanceTypeInfo(type)
      expect(doc.product.attributes.vcpu).toBe(String(info?.vcpu))
      expect(doc.product.attributes.memory).toBe(`${info?.memoryGiB} GiB`)
      // term and rate codes are keyed by the product's SKU
      const [termKey] = Object.keys(doc.terms.OnDemand)
      expect(termKey?.startsWith(`${doc.product.sku}.`)).toBe(true)
      expect(doc.version).toMatch(/^\d{14}$/)
    }
  })

  test('an m5.large costs 0.096 USD an hour in us-east-1 and more in Frankfurt, by regionCode or location', async () => {
    const one = async (where: Filter): Promise<ProductDocument[]> => {
      const out = await pricing.send(
        new GetProductsCommand({
          ServiceCode: 'AmazonEC2',
          Filters: [...LINUX_SHARED, termMatch('instanceType', 'm5.large'), where]
        })
      )
      return ((out.PriceList ?? []) as unknown[]).map((p) => JSON.parse(String(p)) as ProductDocument)
    }
    const virginia = await one(termMatch('regionCode', 'us-east-1'))
    expect(virginia).toHaveLength(1)
    const first = virginia[0] as ProductDocument
    expect(onlyPrice(first).usd).toBe(0.096)
    expect(onlyPrice(first).description).toContain('m5.large')
    expect(first.product.attributes).toMatchObject({ vcpu: '2', memory: '8 GiB', usagetype: 'BoxUsage:m5.large' })
    const byLocation = await one(termMatch('location', 'US East (N. Virginia)'))
    expect(byLocation.map((d) => d.product.sku)).toEqual([first.product.sku])
    const frankfurt = await one(termMatch('regionCode', 'eu-central-1'))
    expect(frankfurt).toHaveLength(1)
    expect(onlyPrice(frankfurt[0] as ProductDocument).usd).toBeGreaterThan(0.096)
    expect(onlyPrice(frankfurt[0] as ProductDocument).usd).toBeCloseTo(
      onDemandPrice('m5.large', 'eu-central-1') ?? -1,
      10
    )
    // no Windows products in the emulator's list, and filter values are matched as terms (case aside)
    expect(await one(termMatch('operatingSystem', 'Windows'))).toHaveLength(0)
    expect(await one(termMatch('REGIONCODE', 'US-EAST-1'))).toHaveLength(1)
  })

  test("the Application Load Balancer's hour is a Load Balancer-Application product of AWSELB", async () => {
    const out = await pricing.send(
      new GetProductsCommand({
        ServiceCode: 'AWSELB',
        Filters: [
          termMatch('productFamily', 'Load Balancer-Application'),
          termMatch('regionCode', 'us-east-1'),
          termMatch('usagetype', 'LoadBalancerUsage')
        ]
      })
    )
    expect(out.PriceList).toHaveLength(1)
    const doc = JSON.parse(String(out.PriceList?.[0])) as ProductDocument
    expect(doc.serviceCode).toBe('AWSELB')
    expect(doc.product.productFamily).toBe('Load Balancer-Application')
    expect(onlyPrice(doc)).toMatchObject({ unit: 'Hrs', usd: albHourlyPrice('us-east-1') })
    expect(albHourlyPrice('us-east-1')).toBe(0.0225)
  })

  test('DescribeServices and GetAttributeValues list the services and the values filters can match', async () => {
    const all = await pricing.send(new DescribeServicesCommand({ FormatVersion: 'aws_v1' }))
    expect(all.Services?.map((s) => s.ServiceCode)).toEqual(['AWSELB', 'AmazonEC2'])
    const ec2Service = await pricing.send(new DescribeServicesCommand({ ServiceCode: 'AmazonEC2' }))
    expect(ec2Service.Services?.[0]?.AttributeNames).toEqual(
      expect.arrayContaining(['instanceType', 'regionCode', 'location', 'operatingSystem', 'tenancy', 'capacitystatus'])
    )
    const values = await pricing.send(
      new GetAttributeValuesCommand({ ServiceCode: 'AmazonEC2', AttributeName: 'capacitystatus' })
    )
    expect(values.AttributeValues?.map((v) => v.Value)).toEqual([
      'AllocatedCapacityReservation',
      'UnusedCapacityReservation',
      'Used'
    ])
    const first = await pricing.send(
      new GetAttributeValuesCommand({ ServiceCode: 'AmazonEC2', AttributeName: 'instanceType', MaxResults: 100 })
    )
    expect(first.AttributeValues).toHaveLength(100)
    const rest = await pricing.send(
      new GetAttributeValuesCommand({
        ServiceCode: 'AmazonEC2',
        AttributeName: 'instanceType',
        MaxResults: 100,
        NextToken: first.NextToken
      })
    )
    const names = [...(first.AttributeValues ?? []), ...(rest.AttributeValues ?? [])].map((v) => v.Value)
    expect(names).toEqual(expect.arrayContaining(['t2.nano', 'r7g.4xlarge', 'c6a.xlarge']))
    expect(new Set(names).size).toBe(names.length)
  })

  test('errors are the modelled exceptions', async () => {
    const unknown = await errorOf(pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonNothing' })))
    expect(unknown).toBeInstanceOf(NotFoundException)
    expect(unknown.$metadata?.httpStatusCode).toBe(400)
    expect(await errorOf(pricing.send(new DescribeServicesCommand({ ServiceCode: 'AmazonNothing' })))).toBeInstanceOf(
      NotFoundException
    )
    expect(
      await errorOf(pricing.send(new GetAttributeValuesCommand({ ServiceCode: 'AmazonEC2', AttributeName: 'colour' })))
    ).toBeInstanceOf(NotFoundException)
    expect(
      await errorOf(pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', MaxResults: 101 })))
    ).toBeInstanceOf(InvalidParameterException)
    expect(
      await errorOf(pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v2' })))
    ).toBeInstanceOf(InvalidParameterException)
    expect(
      await errorOf(
        pricing.send(
          new GetProductsCommand({
            ServiceCode: 'AmazonEC2',
            Filters: [{ Type: 'REGEX' as Filter['Type'], Field: 'instanceType', Value: 'm5.*' }]
          })
        )
      )
    ).toBeInstanceOf(InvalidParameterException)
    expect(
      await errorOf(pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', NextToken: 'not-a-token' })))
    ).toBeInstanceOf(InvalidNextTokenException)
    // a token continues only the request that issued it
    const page = await pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', MaxResults: 1 }))
    expect(
      await errorOf(pricing.send(new GetProductsCommand({ ServiceCode: 'AWSELB', NextToken: page.NextToken })))
    ).toBeInstanceOf(InvalidNextTokenException)
    // and expires (simulation.priceListTokenTtlMs)
    emu.cloud.simulation.priceListTokenTtlMs = 0
    try {
      expect(
        await errorOf(
          pricing.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', MaxResults: 1, NextToken: page.NextToken }))
        )
      ).toBeInstanceOf(ExpiredNextTokenException)
    } finally {
      delete emu.cloud.simulation.priceListTokenTtlMs
    }
  })

  test('is served in us-east-1, eu-central-1 and ap-south-1 only: elsewhere the request is refused', async () => {
    for (const region of ['eu-central-1', 'ap-south-1']) {
      const client = new PricingClient(sdkConfig(emu, { region }))
      const out = await client.send(new DescribeServicesCommand({ ServiceCode: 'AWSELB' }))
      expect(out.Services).toHaveLength(1)
      client.destroy()
    }
    const oregon = new PricingClient(sdkConfig(emu, { region: 'us-west-2' }))
    const err = await errorOf(
      oregon.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', Filters: [termMatch('regionCode', 'us-west-2')] }))
    )
    oregon.destroy()
    expect(err.name).toBe('InvalidSignatureException')
    expect(err.message).toBe('Credential should be scoped to a valid region.')
    expect(err.$metadata?.httpStatusCode).toBe(400)
    // the prices of us-west-2 are listed all the same, by an endpoint that serves the API
    const out = await pricing.send(
      new GetProductsCommand({
        ServiceCode: 'AmazonEC2',
        Filters: [...LINUX_SHARED, termMatch('instanceType', 't3.micro'), termMatch('regionCode', 'us-west-2')]
      })
    )
    expect(out.PriceList).toHaveLength(1)
  })
})

describe('DescribeSpotPriceHistory', () => {
  test('without StartTime: the latest price of each pool, below on demand, different per zone', async () => {
    const rows = await spotPrices({ InstanceTypes: ['m5.large', 'c6g.xlarge'] })
    // 2 types x 3 zones x 2 product descriptions, each pool once
    expect(rows).toHaveLength(12)
    const pools = rows.map((r) => `${r.InstanceType}|${r.AvailabilityZone}|${r.ProductDescription}`)
    expect(new Set(pools).size).toBe(12)
    for (const r of rows) {
      const onDemand = onDemandPrice(String(r.InstanceType), 'us-east-1') ?? 0
      const spot = Number(r.SpotPrice)
      expect(spot).toBeGreaterThanOrEqual(onDemand * 0.25)
      expect(spot).toBeLessThanOrEqual(onDemand * 0.45)
      expect(r.SpotPrice).toMatch(/^\d+\.\d{6}$/)
      expect(r.Timestamp).toBeInstanceOf(Date)
      expect(r.Timestamp?.getTime()).toBeLessThanOrEqual(Date.now())
    }
    const m5 = rows.filter((r) => r.InstanceType === 'm5.large' && r.ProductDescription === 'Linux/UNIX')
    expect(m5.map((r) => r.AvailabilityZone).sort()).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c'])
    expect(new Set(m5.map((r) => r.SpotPrice)).size).toBe(3)
    // the same seed, the same prices
    expect(await spotPrices({ InstanceTypes: ['m5.large', 'c6g.xlarge'] })).toEqual(rows)
  })

  test('with StartTime: the history since then, every row within the window or in effect at its start', async () => {
    const start = new Date(Date.now() - 3 * 24 * 3600_000)
    const rows = await spotPrices({
      InstanceTypes: ['t3.micro'],
      AvailabilityZone: 'us-east-1b',
      ProductDescriptions: ['Linux/UNIX'],
      StartTime: start
    })
    expect(rows.length).toBeGreaterThan(5)
    const times = rows.map((r) => r.Timestamp?.getTime() ?? 0)
    // newest first
    expect([...times].sort((a, b) => b - a)).toEqual(times)
    expect(times.filter((t) => t <= start.getTime())).toHaveLength(1)
    const latest = await spotPrices({
      InstanceTypes: ['t3.micro'],
      AvailabilityZone: 'us-east-1b',
      ProductDescriptions: ['Linux/UNIX']
    })
    expect(latest).toEqual([rows[0]])
  })

  test('pages with MaxResults and NextToken, and filters by the documented names', async () => {
    const first = await ec2.send(
      new DescribeSpotPriceHistoryCommand({ InstanceTypes: ['r6i.large', 'r6g.large'], MaxResults: 5 })
    )
    expect(first.SpotPriceHistory).toHaveLength(5)
    expect(first.NextToken).toBeTruthy()
    const all = await spotPrices({ InstanceTypes: ['r6i.large', 'r6g.large'], MaxResults: 5 })
    expect(all).toHaveLength(12)
    expect(all.slice(0, 5)).toEqual(first.SpotPriceHistory)

    const filtered = await spotPrices({
      Filters: [
        { Name: 'instance-type', Values: ['r6*.large'] },
        { Name: 'availability-zone', Values: ['us-east-1c'] },
        { Name: 'product-description', Values: ['Linux/UNIX (Amazon VPC)'] }
      ]
    })
    expect(filtered.map((r) => r.InstanceType).sort()).toEqual(['r6a.large', 'r6g.large', 'r6i.large'])
    const one = filtered[0] as SpotPrice
    const bySpotPrice = await spotPrices({
      InstanceTypes: [one.InstanceType ?? 'r6a.large'],
      Filters: [{ Name: 'spot-price', Values: [one.SpotPrice ?? ''] }]
    })
    expect(bySpotPrice.map((r) => r.SpotPrice)).toContain(one.SpotPrice)
    expect(bySpotPrice.every((r) => r.SpotPrice === one.SpotPrice)).toBe(true)
    const byTimestamp = await spotPrices({
      InstanceTypes: [one.InstanceType ?? 'r6a.large'],
      AvailabilityZone: 'us-east-1c',
      Filters: [{ Name: 'timestamp', Values: [one.Timestamp?.toISOString().replace('.000Z', 'Z') ?? ''] }]
    })
    expect(byTimestamp).toHaveLength(2)
  })

  test('refuses what AWS refuses with InvalidParameterValue', async () => {
    const code = async (input: DescribeSpotPriceHistoryCommandInput): Promise<string> =>
      (await errorOf(ec2.send(new DescribeSpotPriceHistoryCommand(input)))).name
    expect(await code({ MaxResults: 0 })).toBe('InvalidParameterValue')
    expect(await code({ MaxResults: 1001 })).toBe('InvalidParameterValue')
    expect(await code({ AvailabilityZone: 'us-east-1z' })).toBe('InvalidParameterValue')
    expect(await code({ AvailabilityZone: 'eu-west-1a' })).toBe('InvalidParameterValue')
    expect(await code({ InstanceTypes: ['m5.huge' as never] })).toBe('InvalidParameterValue')
    expect(await code({ Filters: [{ Name: 'colour', Values: ['blue'] }] })).toBe('InvalidParameterValue')
    expect(await code({ StartTime: new Date(), EndTime: new Date(Date.now() - 3600_000) })).toBe(
      'InvalidParameterValue'
    )
  })

  test('the control route moves one pool and no other', async () => {
    const before = await spotPrices({ InstanceTypes: ['m6i.xlarge'] })
    const rows = await control.setSpotPrice({
      availabilityZone: 'us-east-1b',
      instanceType: 'm6i.xlarge',
      price: 0.0777
    })
    expect(rows.map((r) => r.ProductDescription).sort()).toEqual(['Linux/UNIX', 'Linux/UNIX (Amazon VPC)'])
    const after = await spotPrices({ InstanceTypes: ['m6i.xlarge'] })
    expect(after).toHaveLength(before.length)
    for (const r of after) {
      if (r.AvailabilityZone === 'us-east-1b') expect(r.SpotPrice).toBe('0.077700')
      else expect(before).toContainEqual(r)
    }
    // the new price is the latest point of the pool's history
    const history = await spotPrices({
      InstanceTypes: ['m6i.xlarge'],
      AvailabilityZone: 'us-east-1b',
      ProductDescriptions: ['Linux/UNIX'],
      StartTime: new Date(Date.now() - 24 * 3600_000)
    })
    expect(history[0]?.SpotPrice).toBe('0.077700')
    expect(history.length).toBeGreaterThan(1)
    // one product description only, and the control client's listing
    await control.setSpotPrice({
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      instanceType: 'm6i.xlarge',
      price: '0.05',
      productDescription: 'Linux/UNIX'
    })
    const listed = await control.spotPrices('us-east-1', 'm6i.xlarge')
    const zoneA = listed.filter((r) => r.AvailabilityZone === 'us-east-1a')
    expect(Object.fromEntries(zoneA.map((r) => [r.ProductDescription, r.SpotPrice]))).toEqual({
      'Linux/UNIX': '0.050000',
      'Linux/UNIX (Amazon VPC)': before.find(
        (r) => r.AvailabilityZone === 'us-east-1a' && r.ProductDescription === 'Linux/UNIX (Amazon VPC)'
      )?.SpotPrice
    })
    await expect(
      control.setSpotPrice({ availabilityZone: 'us-east-1q', instanceType: 'm6i.xlarge', price: 1 })
    ).rejects.toThrow(/400/)
    await expect(
      control.setSpotPrice({ availabilityZone: 'us-east-1a', instanceType: 'm6i.xlarge', price: -1 })
    ).rejects.toThrow(/400/)
  })
})

describe('DescribeInstanceTypes', () => {
  test('describes vCPUs, memory and architecture from the catalogue', async () => {
    const out = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large', 't4g.nano', 'r7g.medium'] })
    )
    const byName = Object.fromEntries((out.InstanceTypes ?? []).map((t) => [t.InstanceType, t]))
    expect(byName['m5.large']).toMatchObject({
      VCpuInfo: { DefaultVCpus: 2 },
      MemoryInfo: { SizeInMiB: 8192 },
      ProcessorInfo: { SupportedArchitectures: ['x86_64'] }
    })
    expect(byName['t4g.nano']).toMatchObject({
      VCpuInfo: { DefaultVCpus: 2 },
      MemoryInfo: { SizeInMiB: 512 },
      ProcessorInfo: { SupportedArchitectures: ['arm64'] },
      BurstablePerformanceSupported: true
    })
    expect(byName['r7g.medium']).toMatchObject({ VCpuInfo: { DefaultVCpus: 1 }, MemoryInfo: { SizeInMiB: 8192 } })
    const arm = await ec2.send(
      new DescribeInstanceTypesCommand({
        Filters: [
          { Name: 'processor-info.supported-architecture', Values: ['arm64'] },
          { Name: 'vcpu-info.default-vcpus', Values: ['16'] }
        ]
      })
    )
    expect(arm.InstanceTypes?.map((t) => t.InstanceType).sort()).toEqual([
      'c6g.4xlarge',
      'c7g.4xlarge',
      'm6g.4xlarge',
      'm7g.4xlarge',
      'r6g.4xlarge',
      'r7g.4xlarge'
    ])
    expect(
      (await errorOf(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.huge' as never] })))).name
    ).toBe('InvalidInstanceType')
  })
})
