/** DescribeInstanceTypes (EC2 API reference) from the price catalogue: vCPUs, memory, architecture. */
import type {
  DescribeInstanceTypesRequest,
  DescribeInstanceTypesResult,
  InstanceTypeInfo as Ec2InstanceTypeInfo
} from '@aws-sdk/client-ec2'
import { ec2Error } from './errors.js'
import { matchesFilters, paginate } from './filters.js'
import { INSTANCE_TYPES, instanceTypeInfo, type InstanceTypeInfo } from './instance-catalogue.js'

function toInstanceType(t: InstanceTypeInfo): Ec2InstanceTypeInfo {
  // Graviton and AMD's 4th generation EPYC (m7a) run one thread per core, as does t2; other x86 types two
  const threads = t.architecture === 'arm64' || t.family === 'm7a' || t.family === 't2' || t.vcpu < 2 ? 1 : 2
  const clock = /(\d+(\.\d+)?) GHz/.exec(t.clockSpeed)?.[1]
  return {
    InstanceType: t.name as Ec2InstanceTypeInfo['InstanceType'],
    CurrentGeneration: true,
    FreeTierEligible: t.name === 't2.micro' || t.name === 't3.micro',
    SupportedUsageClasses: ['on-demand', 'spot'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: false,
    Hypervisor: t.family === 't2' ? 'xen' : 'nitro',
    ProcessorInfo: {
      SupportedArchitectures: [t.architecture],
      ...(clock ? { SustainedClockSpeedInGhz: Number(clock) } : {})
    },
    VCpuInfo: { DefaultVCpus: t.vcpu, DefaultCores: t.vcpu / threads, DefaultThreadsPerCore: threads },
    MemoryInfo: { SizeInMiB: Math.round(t.memoryGiB * 1024) },
    InstanceStorageSupported: false,
    EbsInfo: { EbsOptimizedSupport: t.family === 't2' ? 'unsupported' : 'default', EncryptionSupport: 'supported' },
    BurstablePerformanceSupported: t.burstable,
    AutoRecoverySupported: true
  }
}

function filterValues(t: InstanceTypeInfo, name: string): string[] | undefined {
  const out = toInstanceType(t)
  switch (name) {
    case 'instance-type':
      return [t.name]
    case 'processor-info.supported-architecture':
      return [t.architecture]
    case 'vcpu-info.default-vcpus':
      return [String(t.vcpu)]
    case 'memory-info.size-in-mib':
      return [String(out.MemoryInfo?.SizeInMiB)]
    case 'current-generation':
      return ['true']
    case 'burstable-performance-supported':
      return [String(t.burstable)]
    case 'free-tier-eligible':
      return [String(out.FreeTierEligible)]
    case 'hypervisor':
      return [String(out.Hypervisor)]
    case 'supported-usage-class':
      return ['on-demand', 'spot']
    default:
      return undefined
  }
}

export function describeInstanceTypes(input: DescribeInstanceTypesRequest): DescribeInstanceTypesResult {
  if (input.MaxResults !== undefined && (input.MaxResults < 5 || input.MaxResults > 100))
    throw ec2Error(
      'InvalidParameterValue',
      `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 100.`
    )
  const asked = (input.InstanceTypes ?? []) as string[]
  const unknown = asked.filter((t) => !instanceTypeInfo(t))
  if (unknown.length > 0)
    throw ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`)
  const matching = INSTANCE_TYPES.filter(
    (t) => (asked.length === 0 || asked.includes(t.name)) && matchesFilters(input.Filters, (n) => filterValues(t, n))
  )
  const { page, nextToken } = paginate(matching, input.MaxResults ?? 100, input.NextToken)
  return { InstanceTypes: page.map(toInstanceType), ...(nextToken ? { NextToken: nextToken } : {}) }
}
