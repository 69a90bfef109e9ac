/**
 * The Price List's products, built from the emulator's price catalogue (ec2/instance-catalogue.ts): AmazonEC2
 * `Compute Instance` products (Linux, shared and dedicated tenancy, on demand, with the capacity statuses AWS
 * lists) and AWSELB `Load Balancer-Application` products (the load balancer hour and the LCU hour), for every
 * region the catalogue prices. Each product's document has AWS's shape (product, serviceCode, terms.OnDemand,
 * version, publicationDate); GetProducts answers them as JSON strings.
 */
import { createHash } from 'node:crypto'
import {
  INSTANCE_TYPES,
  PRICED_REGIONS,
  albHourlyPrice,
  albLcuHourlyPrice,
  onDemandPrice,
  type InstanceTypeInfo,
  type PricedRegion
} from '../ec2/instance-catalogue.js'

/** The Price List publication the emulator serves. */
export const PRICE_LIST_VERSION = '20261120000000'
export const PUBLICATION_DATE = '2026-11-20T00:00:00Z'
const EFFECTIVE_DATE = '2026-11-01T00:00:00Z'
/** AWS's offer term code of on-demand prices and the rate code of their one price dimension. */
const ON_DEMAND_TERM = 'JRTCKXETXF'
const RATE_CODE = '6YS6EN2CT7'

export interface Product {
  serviceCode: string
  productFamily: string
  sku: string
  attributes: Record<string, string>
  price: { usd: number; unit: string; description: string }
}

const SKU_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'

/** A stable 16-character SKU from what identifies the product. */
function sku(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('|')).digest()
  return [...digest.subarray(0, 16)].map((b) => SKU_ALPHABET[b % SKU_ALPHABET.length]).join('')
}

const NORMALIZATION: Record<string, string> = {
  nano: '0.25',
  micro: '0.5',
  small: '1',
  medium: '2',
  large: '4',
  xlarge: '8',
  '2xlarge': '16',
  '4xlarge': '32'
}

function memory(gib: number): string {
  return `${gib} GiB`
}

function networkPerformance(t: InstanceTypeInfo): string {
  if (t.family === 't2') return t.vcpu >= 4 ? 'Moderate' : 'Low to Moderate'
  return t.vcpu >= 16 ? 'Up to 12.5 Gigabit' : 'Up to 10 Gigabit'
}

function usd(n: number): string {
  return `$${Number(n.toFixed(6))}`
}

interface Variant {
  tenancy: 'Shared' | 'Dedicated'
  capacitystatus: 'Used' | 'UnusedCapacityReservation' | 'AllocatedCapacityReservation'
  usage: string
  factor: number
}

/** The on-demand Linux variants the emulator lists per instance type and region. */
function variants(t: InstanceTypeInfo): Variant[] {
  const shared: Variant[] = [
    { tenancy: 'Shared', capacitystatus: 'Used', usage: 'BoxUsage', factor: 1 },
    { tenancy: 'Shared', capacitystatus: 'UnusedCapacityReservation', usage: 'UnusedBox', factor: 1 },
    { tenancy: 'Shared', capacitystatus: 'AllocatedCapacityReservation', usage: 'Reservation', factor: 0 }
  ]
  // Dedicated Instances cost about a tenth more (not offered for the T families here)
  return t.burstable
    ? shared
    : [...shared, { tenancy: 'Dedicated', capacitystatus: 'Used', usage: 'DedicatedUsage', factor: 1.1 }]
}

function ec2Products(region: PricedRegion): Product[] {
  return INSTANCE_TYPES.flatMap((t) =>
    variants(t).map((v): Product => {
      const hourly = Math.round((onDemandPrice(t.name, region.code) ?? 0) * v.factor * 1e6) / 1e6
      const attributes: Record<string, string> = {
        servicecode: 'AmazonEC2',
        servicename: 'Amazon Elastic Compute Cloud',
        location: region.location,
        locationType: 'AWS Region',
        regionCode: region.code,
        instanceType: t.name,
        instanceFamily: t.category,
        currentGeneration: 'Yes',
        vcpu: String(t.vcpu),
        memory: memory(t.memoryGiB),
        physicalProcessor: t.processor,
        clockSpeed: t.clockSpeed,
        processorArchitecture: '64-bit',
        storage: 'EBS only',
        networkPerformance: networkPerformance(t),
        tenancy: v.tenancy,
        operatingSystem: 'Linux',
        licenseModel: 'No License required',
        usagetype: `${region.usagePrefix}${v.usage}:${t.name}`,
        operation: 'RunInstances',
        capacitystatus: v.capacitystatus,
        preInstalledSw: 'NA',
        marketoption: 'OnDemand',
        normalizationSizeFactor: NORMALIZATION[t.size] ?? '1'
      }
      const what =
        v.capacitystatus === 'AllocatedCapacityReservation'
          ? `${usd(0)} per Linux ${t.name} Allocated Capacity Reservation Instance Hour`
          : v.capacitystatus === 'UnusedCapacityReservation'
            ? `${usd(hourly)} per Unused Reservation Linux ${t.name} Instance Hour`
            : `${usd(hourly)} per On Demand Linux ${t.name}${v.tenancy === 'Dedicated' ? ' Dedicated' : ''} Instance Hour`
      return {
        serviceCode: 'AmazonEC2',
        productFamily: 'Compute Instance',
        sku: sku('AmazonEC2', region.code, t.name, v.tenancy, v.capacitystatus),
        attributes,
        price: { usd: hourly, unit: 'Hrs', description: what }
      }
    })
  )
}

function elbProducts(region: PricedRegion): Product[] {
  const common = {
    servicecode: 'AWSELB',
    servicename: 'Elastic Load Balancing',
    location: region.location,
    locationType: 'AWS Region',
    regionCode: region.code,
    operation: 'LoadBalancing:Application',
    group: 'ELB:Balancer'
  }
  const hour = albHourlyPrice(region.code)
  const lcu = albLcuHourlyPrice(region.code)
  return [
    {
      serviceCode: 'AWSELB',
      productFamily: 'Load Balancer-Application',
      sku: sku('AWSELB', region.code, 'LoadBalancerUsage'),
      attributes: {
        ...common,
        usagetype: `${region.usagePrefix}LoadBalancerUsage`,
        groupDescription: 'LoadBalancer hourly usage by Application Load Balancer'
      },
      price: { usd: hour, unit: 'Hrs', description: `${usd(hour)} per Application LoadBalancer-hour (or partial hour)` }
    },
    {
      serviceCode: 'AWSELB',
      productFamily: 'Load Balancer-Application',
      sku: sku('AWSELB', region.code, 'LCUUsage'),
      attributes: {
        ...common,
        usagetype: `${region.usagePrefix}LCUUsage`,
        groupDescription: 'Used Application load balancer capacity units-hr'
      },
      price: {
        usd: lcu,
        unit: 'LCU-Hrs',
        description: `${usd(lcu)} per used Application load balancer capacity unit-hour (or partial hour)`
      }
    }
  ]
}

/** The service codes the emulator's Price List serves, with their products (built once, on first use). */
export class PriceList {
  private built?: Map<string, Product[]>

  private products(): Map<string, Product[]> {
    this.built ??= new Map([
      ['AmazonEC2', PRICED_REGIONS.flatMap(ec2Products)],
      ['AWSELB', PRICED_REGIONS.flatMap(elbProducts)]
    ])
    return this.built
  }

  serviceCodes(): string[] {
    return [...this.products().keys()].sort()
  }

  /** A service's products, or undefined for a service code the Price List does not have. */
  productsOf(serviceCode: string): Product[] | undefined {
    return this.products().get(serviceCode)
  }

  /** The attribute names a service's products have (and productFamily), sorted. */
  attributeNames(serviceCode: string): string[] | undefined {
    const products = this.productsOf(serviceCode)
    if (!products) return undefined
    const names = new Set<string>(['productFamily'])
    for (const p of products) for (const name of Object.keys(p.attributes)) names.add(name)
    return [...names].sort()
  }
}

/** A product's value for a filter field: its attributes, productFamily and sku (field names case-insensitive). */
export function fieldValue(product: Product, field: string): string | undefined {
  const lower = field.toLowerCase()
  if (lower === 'productfamily') return product.productFamily
  if (lower === 'sku') return product.sku
  const key = Object.keys(product.attributes).find((k) => k.toLowerCase() === lower)
  return key === undefined ? undefined : product.attributes[key]
}

/** The product's document, as AWS's Price List publishes it. */
export function productDocument(product: Product): Record<string, unknown> {
  const term = `${product.sku}.${ON_DEMAND_TERM}`
  const rate = `${term}.${RATE_CODE}`
  return {
    product: { productFamily: product.productFamily, attributes: product.attributes, sku: product.sku },
    serviceCode: product.serviceCode,
    terms: {
      OnDemand: {
        [term]: {
          priceDimensions: {
            [rate]: {
              unit: product.price.unit,
              endRange: 'Inf',
              description: product.price.description,
              appliesTo: [],
              rateCode: rate,
              beginRange: '0',
              pricePerUnit: { USD: product.price.usd.toFixed(10) }
            }
          },
          sku: product.sku,
          effectiveDate: EFFECTIVE_DATE,
          offerTermCode: ON_DEMAND_TERM,
          termAttributes: {}
        }
      }
    },
    version: PRICE_LIST_VERSION,
    publicationDate: PUBLICATION_DATE
  }
}
