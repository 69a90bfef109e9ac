/**
 * The prices a cost estimate needs (cost.ts): on-demand hours from the AWS Price List Query API
 * (GetProducts, one call per instance type and one for the load balancer), spot prices from EC2
 * (DescribeSpotPriceHistory from now: the price each pool charges now). When the Price List API cannot
 * be read (denied, or its endpoint unreachable from the runner), the table shipped with the action
 * stands in and the estimate says how old it is. A cost estimate never fails a run: what cannot be
 * read becomes a note.
 */
import { GetProductsCommand, type Filter } from '@aws-sdk/client-pricing'
import { paginateDescribeSpotPriceHistory } from '@aws-sdk/client-ec2'
import type { PriceBook, SpotPrice } from '../cost.js'
import { PRICE_TABLE } from '../price-table.js'
import { errorCode, errorMessage } from './errors.js'
import type { Aws } from './send.js'

/** Linux on shared hardware without pre-installed software, as the action's instances run. */
export function instanceFilters(region: string, instanceType: string): Filter[] {
  const match = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value })
  return [
    match('instanceType', instanceType),
    match('regionCode', region),
    match('operatingSystem', 'Linux'),
    match('tenancy', 'Shared'),
    match('preInstalledSw', 'NA'),
    match('capacitystatus', 'Used'),
    match('marketoption', 'OnDemand')
  ]
}

interface PriceDocument {
  product?: { attributes?: Record<string, string> }
  terms?: {
    OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }>
  }
}

/** The hourly USD price of a Price List product document (a JSON string), if it has one. */
export function hourlyPrice(document: string): number | undefined {
  const doc = JSON.parse(document) as PriceDocument
  for (const term of Object.values(doc.terms?.OnDemand ?? {})) {
    for (const dimension of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dimension.pricePerUnit?.USD)
      if (dimension.unit?.toLowerCase().startsWith('hr') && Number.isFinite(usd) && usd > 0) return usd
    }
  }
  return undefined
}

function attributesOf(document: string): Record<string, string> {
  return (JSON.parse(document) as PriceDocument).product?.attributes ?? {}
}

async function onDemandPrice(aws: Aws, region: string, instanceType: string): Promise<number | undefined> {
  const out = await aws.send(
    new GetProductsCommand({
      ServiceCode: 'AmazonEC2',
      FormatVersion: 'aws_v1',
      Filters: instanceFilters(region, instanceType),
      MaxResults: 10
    })
  )
  for (const document of out.PriceList ?? []) {
    const price = hourlyPrice(document)
    if (price !== undefined) return price
  }
  return undefined
}

/** An Application Load Balancer's hour (its usage type ends in LoadBalancerUsage; capacity units are apart). */
async function loadBalancerPrice(aws: Aws, region: string): Promise<number | undefined> {
  const out = await aws.send(
    new GetProductsCommand({
      ServiceCode: 'AWSELB',
      FormatVersion: 'aws_v1',
      Filters: [
        { Type: 'TERM_MATCH', Field: 'productFamily', Value: 'Load Balancer-Application' },
        { Type: 'TERM_MATCH', Field: 'regionCode', Value: region }
      ],
      MaxResults: 100
    })
  )
  for (const document of out.PriceList ?? []) {
    if (!/LoadBalancerUsage$/.test(attributesOf(document).usagetype ?? '')) continue
    const price = hourlyPrice(document)
    if (price !== undefined) return price
  }
  return undefined
}

/** The price each pool of these types charges now (StartTime now: one row per pool, the price in effect). */
async function spotPrices(aws: Aws, types: string[], zones: string[] | undefined): Promise<SpotPrice[]> {
  if (types.length === 0) return []
  const latest = new Map<string, SpotPrice & { at: number }>()
  const pages = paginateDescribeSpotPriceHistory(
    { client: aws.through('ec2'), pageSize: 1000 },
    { InstanceTypes: types as never[], ProductDescriptions: ['Linux/UNIX'], StartTime: new Date() }
  )
  for await (const page of pages) {
    for (const row of page.SpotPriceHistory ?? []) {
      const zone = row.AvailabilityZone ?? ''
      const price = Number(row.SpotPrice)
      if (!row.InstanceType || !Number.isFinite(price) || (zones && !zones.includes(zone))) continue
      const key = `${row.InstanceType} ${zone}`
      const at = row.Timestamp?.getTime() ?? 0
      if ((latest.get(key)?.at ?? -1) < at) latest.set(key, { instanceType: row.InstanceType, zone, price, at })
    }
  }
  return [...latest.values()].map(({ instanceType, zone, price }) => ({ instanceType, zone, price }))
}

export interface PriceRequest {
  region: string
  /** Types priced on demand (every group's, and each spot type an instance may run as). */
  onDemandTypes: string[]
  spotTypes: string[]
  zones?: string[]
  loadBalancer: boolean
}

function why(err: unknown): string {
  const code = errorCode(err)
  return `${code ? `${code}: ` : ''}${errorMessage(err)}`.slice(0, 200)
}

/** The shipped table's prices for the region (undefined where it has none). */
function fromTable(
  request: PriceRequest
): Pick<PriceBook, 'onDemand' | 'loadBalancer' | 'asOf'> & { missing: boolean } {
  const region = PRICE_TABLE.regions[request.region]
  const onDemand: Record<string, number> = {}
  for (const type of request.onDemandTypes) {
    const price = region?.instances[type]
    if (price !== undefined) onDemand[type] = price
  }
  return {
    onDemand,
    ...(region?.loadBalancer !== undefined ? { loadBalancer: region.loadBalancer } : {}),
    asOf: PRICE_TABLE.asOf,
    missing: region === undefined
  }
}

export async function readPrices(aws: Aws, request: PriceRequest): Promise<PriceBook> {
  const notes: string[] = []
  const onDemandTypes = [...new Set(request.onDemandTypes)].sort()
  const spotTypes = [...new Set(request.spotTypes)].sort()
  const [listed, spot] = await Promise.all([
    Promise.all([
      Promise.all(onDemandTypes.map(async (t) => [t, await onDemandPrice(aws, request.region, t)] as const)),
      request.loadBalancer ? loadBalancerPrice(aws, request.region) : undefined
    ]).catch((err: unknown) => {
      notes.push(`the Price List API could not be read (${why(err)})`)
      return undefined
    }),
    spotPrices(aws, spotTypes, request.zones).catch((err: unknown) => {
      notes.push(`spot prices could not be read (${why(err)}); spot instances are not counted`)
      return []
    })
  ])
  if (!listed) {
    const table = fromTable({ ...request, onDemandTypes })
    if (table.missing) notes.push(`the shipped price table has no prices for ${request.region}`)
    const { missing: _missing, ...prices } = table
    return { source: 'shipped-table', ...prices, spot, notes }
  }
  const [pairs, loadBalancer] = listed
  const onDemand: Record<string, number> = {}
  for (const [type, price] of pairs) {
    if (price === undefined) notes.push(`no on-demand price for ${type} in ${request.region}`)
    else onDemand[type] = price
  }
  return { source: 'price-list-api', onDemand, ...(loadBalancer !== undefined ? { loadBalancer } : {}), spot, notes }
}
