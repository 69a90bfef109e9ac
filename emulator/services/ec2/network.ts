/** The default VPC, its subnets and a private IP allocator per subnet. */
import type { Cloud, VpcRecord } from '../../types.js'
import { newId } from '../../core/ids.js'
import type { Tags } from './filters.js'
import { ec2Error } from './errors.js'

export const DEFAULT_VPC_CIDR = '172.28.0.0/16'
const DEFAULT_SUBNET_CIDRS = ['172.28.0.0/20', '172.28.16.0/20', '172.28.32.0/20']
const AZ_SUFFIXES = ['a', 'b', 'c']

export interface SubnetRecord {
  subnetId: string
  vpcId: string
  region: string
  availabilityZone: string
  cidrBlock: string
  defaultForAz: boolean
  tags: Tags
  allocated: Set<number>
  /** Next host offset to try (round-robin so freed addresses are not reused at once). */
  cursor: number
}

export interface Ec2Vpc extends VpcRecord {
  isDefault: boolean
  tags: Tags
  defaultGroupId?: string
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}

export function cidrRange(cidr: string): { base: number; size: number } {
  const [ip, bits] = cidr.split('/')
  const size = 2 ** (32 - Number(bits))
  return { base: ipToInt(ip ?? '0.0.0.0'), size }
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { base, size } = cidrRange(cidr)
  const n = ipToInt(ip)
  return n >= base && n < base + size
}

/** Allocates the next free private IP (AWS reserves the first four and the last address). */
export function allocateIp(subnet: SubnetRecord): string {
  const { base, size } = cidrRange(subnet.cidrBlock)
  const usable = size - 5
  for (let i = 0; i < usable; i++) {
    const offset = 4 + ((subnet.cursor + i) % usable)
    if (!subnet.allocated.has(offset)) {
      subnet.allocated.add(offset)
      subnet.cursor = offset - 4 + 1
      return intToIp(base + offset)
    }
  }
  throw ec2Error('InsufficientFreeAddressesInSubnet', `no free addresses in ${subnet.subnetId}`)
}

export function releaseIp(subnet: SubnetRecord, ip: string): void {
  subnet.allocated.delete(ipToInt(ip) - cidrRange(subnet.cidrBlock).base)
}

export class Network {
  readonly vpcs = new Map<string, Ec2Vpc>()
  readonly subnets = new Map<string, SubnetRecord>()
  private readonly regions = new Set<string>()

  constructor(
    private readonly cloud: Cloud,
    private readonly onDefaultVpc: (vpc: Ec2Vpc) => void
  ) {}

  /** Creates the region's default VPC and subnets on first use. */
  ensureRegion(region: string): void {
    if (this.regions.has(region)) return
    this.regions.add(region)
    const vpc: Ec2Vpc = {
      vpcId: newId(this.cloud, 'vpc-'),
      region,
      cidrBlock: DEFAULT_VPC_CIDR,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      isDefault: true,
      tags: {}
    }
    this.vpcs.set(vpc.vpcId, vpc)
    this.cloud.shared.vpcs.set(vpc.vpcId, vpc)
    DEFAULT_SUBNET_CIDRS.forEach((cidrBlock, i) => {
      const subnetId = newId(this.cloud, 'subnet-')
      const availabilityZone = `${region}${AZ_SUFFIXES[i] ?? 'a'}`
      this.subnets.set(subnetId, { subnetId, vpcId: vpc.vpcId, region, availabilityZone, cidrBlock, defaultForAz: true, tags: {}, allocated: new Set(), cursor: 0 })
    })
    this.onDefaultVpc(vpc)
  }

  vpcsIn(region: string): Ec2Vpc[] {
    this.ensureRegion(region)
    return [...this.vpcs.values()].filter((v) => v.region === region)
  }

  subnetsIn(region: string): SubnetRecord[] {
    this.ensureRegion(region)
    return [...this.subnets.values()].filter((s) => s.region === region)
  }

  defaultVpc(region: string): Ec2Vpc {
    const vpc = this.vpcsIn(region).find((v) => v.isDefault)
    if (!vpc) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user')
    return vpc
  }

  vpc(region: string, vpcId: string): Ec2Vpc {
    const vpc = this.vpcsIn(region).find((v) => v.vpcId === vpcId)
    if (!vpc) throw ec2Error('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`)
    return vpc
  }

  subnet(region: string, subnetId: string): SubnetRecord {
    const subnet = this.subnetsIn(region).find((s) => s.subnetId === subnetId)
    if (!subnet) throw ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`)
    return subnet
  }
}
