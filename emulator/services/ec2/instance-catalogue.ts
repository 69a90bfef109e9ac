/**
 * The emulator's one price catalogue: EC2 instance types (vCPUs, memory, architecture) with their us-east-1
 * Linux on-demand hourly price (AWS's published list prices, rounded as AWS publishes them), a per-region factor
 * for the other regions, and the Application Load Balancer's hourly prices. EC2's DescribeInstanceTypes and
 * DescribeSpotPriceHistory and the Price List Query API (services/pricing) read it.
 */

export type Architecture = 'x86_64' | 'arm64'

export type InstanceCategory = 'General purpose' | 'Compute optimized' | 'Memory optimized'

export interface InstanceTypeInfo {
  /** e.g. `m5.large` */
  name: string
  family: string
  size: string
  vcpu: number
  memoryGiB: number
  architecture: Architecture
  category: InstanceCategory
  /** The Price List's physicalProcessor. */
  processor: string
  /** The Price List's clockSpeed (e.g. `3.1 GHz`). */
  clockSpeed: string
  /** Burstable (T) instances. */
  burstable: boolean
  /** us-east-1, Linux, shared tenancy, on demand, USD per hour. */
  onDemandUsd: number
}

interface FamilySpec {
  architecture: Architecture
  category: InstanceCategory
  processor: string
  clockSpeed: string
  /** size -> [vCPUs, memory GiB, us-east-1 hourly USD] */
  sizes: Record<string, readonly [number, number, number]>
}

/** large .. 4xlarge with 2..16 vCPUs and `perVcpu` GiB per vCPU, priced from the large's price. */
function standard(perVcpu: number, large: number, extra: FamilySpec['sizes'] = {}): FamilySpec['sizes'] {
  return {
    ...extra,
    large: [2, 2 * perVcpu, large],
    xlarge: [4, 4 * perVcpu, round(large * 2)],
    '2xlarge': [8, 8 * perVcpu, round(large * 4)],
    '4xlarge': [16, 16 * perVcpu, round(large * 8)]
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6
}

/** T families: nano .. 2xlarge with the given prices (nano first). */
function burstable(vcpus: readonly number[], prices: readonly number[]): FamilySpec['sizes'] {
  const sizes = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge']
  const memory = [0.5, 1, 2, 4, 8, 16, 32]
  return Object.fromEntries(
    sizes.map((size, n) => [size, [vcpus[n] ?? 2, memory[n] ?? 1, prices[n] ?? 0] as const])
  ) as FamilySpec['sizes']
}

const INTEL_SKYLAKE = 'Intel Xeon Platinum 8175'
const INTEL_ICE_LAKE = 'Intel Xeon 8375C (Ice Lake)'
const INTEL_SAPPHIRE = 'Intel Xeon Scalable (Sapphire Rapids)'
const AMD_EPYC_1 = 'AMD EPYC 7571'
const AMD_EPYC_3 = 'AMD EPYC 7R13 Processor'
const AMD_EPYC_4 = 'AMD EPYC 9R14 Processor'
const GRAVITON2 = 'AWS Graviton2 Processor'
const GRAVITON3 = 'AWS Graviton3 Processor'

const GP: InstanceCategory = 'General purpose'
const CO: InstanceCategory = 'Compute optimized'
const MO: InstanceCategory = 'Memory optimized'

const FAMILIES: Record<string, FamilySpec> = {
  t2: {
    architecture: 'x86_64',
    category: GP,
    processor: 'Intel Xeon Family',
    clockSpeed: 'Up to 3.3 GHz',
    sizes: burstable([1, 1, 1, 2, 2, 4, 8], [0.0058, 0.0116, 0.023, 0.0464, 0.0928, 0.1856, 0.3712])
  },
  t3: {
    architecture: 'x86_64',
    category: GP,
    processor: 'Intel Skylake E5 2686 v5',
    clockSpeed: '3.1 GHz',
    sizes: burstable([2, 2, 2, 2, 2, 4, 8], [0.0052, 0.0104, 0.0208, 0.0416, 0.0832, 0.1664, 0.3328])
  },
  t3a: {
    architecture: 'x86_64',
    category: GP,
    processor: 'AMD EPYC 7571',
    clockSpeed: '2.5 GHz',
    sizes: burstable([2, 2, 2, 2, 2, 4, 8], [0.0047, 0.0094, 0.0188, 0.0376, 0.0752, 0.1504, 0.3008])
  },
  t4g: {
    architecture: 'arm64',
    category: GP,
    processor: GRAVITON2,
    clockSpeed: '2.5 GHz',
    sizes: burstable([2, 2, 2, 2, 2, 4, 8], [0.0042, 0.0084, 0.0168, 0.0336, 0.0672, 0.1344, 0.2688])
  },
  m5: {
    architecture: 'x86_64',
    category: GP,
    processor: INTEL_SKYLAKE,
    clockSpeed: '3.1 GHz',
    sizes: standard(4, 0.096)
  },
  m5a: {
    architecture: 'x86_64',
    category: GP,
    processor: AMD_EPYC_1,
    clockSpeed: '2.5 GHz',
    sizes: standard(4, 0.086)
  },
  m6i: {
    architecture: 'x86_64',
    category: GP,
    processor: INTEL_ICE_LAKE,
    clockSpeed: '3.5 GHz',
    sizes: standard(4, 0.096)
  },
  m6a: {
    architecture: 'x86_64',
    category: GP,
    processor: AMD_EPYC_3,
    clockSpeed: '3.6 GHz',
    sizes: standard(4, 0.0864)
  },
  m6g: {
    architecture: 'arm64',
    category: GP,
    processor: GRAVITON2,
    clockSpeed: '2.5 GHz',
    sizes: standard(4, 0.077, { medium: [1, 4, 0.0385] })
  },
  m7i: {
    architecture: 'x86_64',
    category: GP,
    processor: INTEL_SAPPHIRE,
    clockSpeed: '3.2 GHz',
    sizes: standard(4, 0.1008)
  },
  m7a: {
    architecture: 'x86_64',
    category: GP,
    processor: AMD_EPYC_4,
    clockSpeed: '3.7 GHz',
    sizes: standard(4, 0.11592, { medium: [1, 4, 0.05796] })
  },
  m7g: {
    architecture: 'arm64',
    category: GP,
    processor: GRAVITON3,
    clockSpeed: '2.6 GHz',
    sizes: standard(4, 0.0816, { medium: [1, 4, 0.0408] })
  },
  c5: {
    architecture: 'x86_64',
    category: CO,
    processor: 'Intel Xeon Platinum 8124M',
    clockSpeed: '3.4 GHz',
    sizes: standard(2, 0.085)
  },
  c5a: {
    architecture: 'x86_64',
    category: CO,
    processor: 'AMD EPYC 7R32',
    clockSpeed: '3.3 GHz',
    sizes: standard(2, 0.077)
  },
  c6i: {
    architecture: 'x86_64',
    category: CO,
    processor: INTEL_ICE_LAKE,
    clockSpeed: '3.5 GHz',
    sizes: standard(2, 0.085)
  },
  c6a: {
    architecture: 'x86_64',
    category: CO,
    processor: AMD_EPYC_3,
    clockSpeed: '3.6 GHz',
    sizes: standard(2, 0.0765)
  },
  c6g: {
    architecture: 'arm64',
    category: CO,
    processor: GRAVITON2,
    clockSpeed: '2.5 GHz',
    sizes: standard(2, 0.068, { medium: [1, 2, 0.034] })
  },
  c7i: {
    architecture: 'x86_64',
    category: CO,
    processor: INTEL_SAPPHIRE,
    clockSpeed: '3.2 GHz',
    sizes: standard(2, 0.08925)
  },
  c7g: {
    architecture: 'arm64',
    category: CO,
    processor: GRAVITON3,
    clockSpeed: '2.6 GHz',
    sizes: standard(2, 0.0725, { medium: [1, 2, 0.0363] })
  },
  r5: {
    architecture: 'x86_64',
    category: MO,
    processor: INTEL_SKYLAKE,
    clockSpeed: '3.1 GHz',
    sizes: standard(8, 0.126)
  },
  r5a: {
    architecture: 'x86_64',
    category: MO,
    processor: AMD_EPYC_1,
    clockSpeed: '2.5 GHz',
    sizes: standard(8, 0.113)
  },
  r6i: {
    architecture: 'x86_64',
    category: MO,
    processor: INTEL_ICE_LAKE,
    clockSpeed: '3.5 GHz',
    sizes: standard(8, 0.126)
  },
  r6a: {
    architecture: 'x86_64',
    category: MO,
    processor: AMD_EPYC_3,
    clockSpeed: '3.6 GHz',
    sizes: standard(8, 0.1134)
  },
  r6g: {
    architecture: 'arm64',
    category: MO,
    processor: GRAVITON2,
    clockSpeed: '2.5 GHz',
    sizes: standard(8, 0.1008, { medium: [1, 8, 0.0504] })
  },
  r7i: {
    architecture: 'x86_64',
    category: MO,
    processor: INTEL_SAPPHIRE,
    clockSpeed: '3.2 GHz',
    sizes: standard(8, 0.1323)
  },
  r7g: {
    architecture: 'arm64',
    category: MO,
    processor: GRAVITON3,
    clockSpeed: '2.6 GHz',
    sizes: standard(8, 0.1071, { medium: [1, 8, 0.0536] })
  }
}

const SIZE_ORDER = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge', '4xlarge']

/** Every instance type of the catalogue, by family then size. */
export const INSTANCE_TYPES: readonly InstanceTypeInfo[] = Object.entries(FAMILIES).flatMap(([family, spec]) =>
  Object.entries(spec.sizes)
    .sort(([a], [b]) => SIZE_ORDER.indexOf(a) - SIZE_ORDER.indexOf(b))
    .map(([size, [vcpu, memoryGiB, onDemandUsd]]) => ({
      name: `${family}.${size}`,
      family,
      size,
      vcpu,
      memoryGiB,
      architecture: spec.architecture,
      category: spec.category,
      processor: spec.processor,
      clockSpeed: spec.clockSpeed,
      burstable: family.startsWith('t'),
      onDemandUsd
    }))
)

const BY_NAME = new Map(INSTANCE_TYPES.map((t) => [t.name, t]))

/** The catalogue's entry for an instance type, or undefined when the emulator does not know it. */
export function instanceTypeInfo(name: string): InstanceTypeInfo | undefined {
  return BY_NAME.get(name)
}

export interface PricedRegion {
  code: string
  /** The Price List's `location`. */
  location: string
  /** The prefix of the region's usage types (`USE2-BoxUsage:m5.large`; none in us-east-1). */
  usagePrefix: string
  /** Prices relative to us-east-1 (approximately AWS's published ratio for general purpose instances). */
  factor: number
}

/** The regions the catalogue prices. */
export const PRICED_REGIONS: readonly PricedRegion[] = [
  { code: 'us-east-1', location: 'US East (N. Virginia)', usagePrefix: '', factor: 1 },
  { code: 'us-east-2', location: 'US East (Ohio)', usagePrefix: 'USE2-', factor: 1 },
  { code: 'us-west-1', location: 'US West (N. California)', usagePrefix: 'USW1-', factor: 1.167 },
  { code: 'us-west-2', location: 'US West (Oregon)', usagePrefix: 'USW2-', factor: 1 },
  { code: 'ca-central-1', location: 'Canada (Central)', usagePrefix: 'CAN1-', factor: 1.115 },
  { code: 'eu-west-1', location: 'EU (Ireland)', usagePrefix: 'EU-', factor: 1.115 },
  { code: 'eu-west-2', location: 'EU (London)', usagePrefix: 'EUW2-', factor: 1.156 },
  { code: 'eu-central-1', location: 'EU (Frankfurt)', usagePrefix: 'EUC1-', factor: 1.198 },
  { code: 'ap-south-1', location: 'Asia Pacific (Mumbai)', usagePrefix: 'APS3-', factor: 1.052 },
  { code: 'ap-southeast-1', location: 'Asia Pacific (Singapore)', usagePrefix: 'APS1-', factor: 1.25 },
  { code: 'ap-southeast-2', location: 'Asia Pacific (Sydney)', usagePrefix: 'APS2-', factor: 1.25 },
  { code: 'ap-northeast-1', location: 'Asia Pacific (Tokyo)', usagePrefix: 'APN1-', factor: 1.292 },
  { code: 'sa-east-1', location: 'South America (Sao Paulo)', usagePrefix: 'SAE1-', factor: 1.594 }
]

const REGIONS = new Map(PRICED_REGIONS.map((r) => [r.code, r]))

/** A region the catalogue prices, or undefined. */
export function pricedRegion(code: string): PricedRegion | undefined {
  return REGIONS.get(code)
}

/** The factor on us-east-1 prices for a region; 1.2 for a region the catalogue does not list. */
export function regionPriceFactor(region: string): number {
  return REGIONS.get(region)?.factor ?? 1.2
}

/** Rounds a USD price to 6 decimals (AWS's list prices have up to 5). */
function listPrice(usd: number): number {
  return Math.round(usd * 1e6) / 1e6
}

/** The Linux on-demand hourly price (USD) of an instance type in a region, or undefined for an unknown type. */
export function onDemandPrice(instanceType: string, region: string): number | undefined {
  const info = BY_NAME.get(instanceType)
  if (!info) return undefined
  return region === 'us-east-1' ? info.onDemandUsd : listPrice(info.onDemandUsd * regionPriceFactor(region))
}

/** Application Load Balancer, us-east-1: per hour (or partial hour), and per LCU-hour. */
export const ALB_HOURLY_USD = 0.0225
export const ALB_LCU_HOURLY_USD = 0.008

/** The Application Load Balancer's hourly price (USD) in a region. */
export function albHourlyPrice(region: string): number {
  return region === 'us-east-1' ? ALB_HOURLY_USD : listPrice(ALB_HOURLY_USD * regionPriceFactor(region))
}

/** The Application Load Balancer's LCU-hour price (USD) in a region. */
export function albLcuHourlyPrice(region: string): number {
  return region === 'us-east-1' ? ALB_LCU_HOURLY_USD : listPrice(ALB_LCU_HOURLY_USD * regionPriceFactor(region))
}
