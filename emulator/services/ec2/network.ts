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
  /** Instances launched here get a public IP (default subnets: yes; others: no until ModifySubnetAttribute). */
  mapPublicIpOnLaunch: boolean
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

/** A route: its destination and the one target it names (igw-, nat-, tgw-, pcx-, vpce-, eni- or `local`). */
export interface RouteRecord {
  destination: string
  target: string
}

export interface RouteTableRecord {
  routeTableId: string
  vpcId: string
  region: string
  /** The VPC's main table: it serves every subnet with no explicit association. */
  main: boolean
  routes: RouteRecord[]
  subnetIds: Set<string>
  tags: Tags
}

export interface InternetGatewayRecord {
  internetGatewayId: string
  region: string
  vpcId?: string
  tags: Tags
}

export class Network {
  readonly vpcs = new Map<string, Ec2Vpc>()
  readonly subnets = new Map<string, SubnetRecord>()
  readonly routeTables = new Map<string, RouteTableRecord>()
  readonly gateways = new Map<string, InternetGatewayRecord>()
  private readonly regions = new Set<string>()

  constructor(
    private readonly cloud: Cloud,
    private readonly onNewVpc: (vpc: Ec2Vpc) => void
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
      this.subnets.set(subnetId, {
        subnetId,
        vpcId: vpc.vpcId,
        region,
        availabilityZone,
        cidrBlock,
        defaultForAz: true,
        mapPublicIpOnLaunch: true,
        tags: {},
        allocated: new Set(),
        cursor: 0
      })
    })
    this.onNewVpc(vpc)
    // The default VPC comes with an internet gateway and a main route table that uses it.
    const main = this.mainTable(vpc)
    const igw: InternetGatewayRecord = {
      internetGatewayId: newId(this.cloud, 'igw-'),
      region,
      vpcId: vpc.vpcId,
      tags: {}
    }
    this.gateways.set(igw.internetGatewayId, igw)
    main.routes.push({ destination: '0.0.0.0/0', target: igw.internetGatewayId })
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

  /** CreateVpc: DNS support on, DNS hostnames off, as AWS makes a non-default VPC. */
  createVpc(region: string, cidrBlock: string, tags: Tags): Ec2Vpc {
    this.ensureRegion(region)
    if (!/^\d+\.\d+\.\d+\.\d+\/(1[6-9]|2[0-8])$/.test(cidrBlock))
      throw ec2Error(
        'InvalidParameterValue',
        `Value (${cidrBlock}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`
      )
    const vpc: Ec2Vpc = {
      vpcId: newId(this.cloud, 'vpc-'),
      region,
      cidrBlock,
      enableDnsSupport: true,
      enableDnsHostnames: false,
      isDefault: false,
      tags
    }
    this.vpcs.set(vpc.vpcId, vpc)
    this.cloud.shared.vpcs.set(vpc.vpcId, vpc)
    this.onNewVpc(vpc)
    this.mainTable(vpc)
    return vpc
  }

  /** The VPC's main route table (made with the VPC: its local route only). */
  private mainTable(vpc: Ec2Vpc): RouteTableRecord {
    const found = [...this.routeTables.values()].find((t) => t.vpcId === vpc.vpcId && t.main)
    if (found) return found
    const table: RouteTableRecord = {
      routeTableId: newId(this.cloud, 'rtb-'),
      vpcId: vpc.vpcId,
      region: vpc.region,
      main: true,
      routes: [{ destination: vpc.cidrBlock, target: 'local' }],
      subnetIds: new Set(),
      tags: {}
    }
    this.routeTables.set(table.routeTableId, table)
    return table
  }

  createRouteTable(region: string, vpcId: string, tags: Tags): RouteTableRecord {
    const vpc = this.vpc(region, vpcId)
    const table: RouteTableRecord = {
      routeTableId: newId(this.cloud, 'rtb-'),
      vpcId,
      region,
      main: false,
      routes: [{ destination: vpc.cidrBlock, target: 'local' }],
      subnetIds: new Set(),
      tags
    }
    this.routeTables.set(table.routeTableId, table)
    return table
  }

  routeTable(region: string, id: string): RouteTableRecord {
    const table = this.routeTables.get(id)
    if (!table || table.region !== region)
      throw ec2Error('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`)
    return table
  }

  gateway(region: string, id: string): InternetGatewayRecord {
    const gateway = this.gateways.get(id)
    if (!gateway || gateway.region !== region)
      throw ec2Error('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${id}' does not exist`)
    return gateway
  }

  /** CreateSubnet: a CIDR inside its VPC's, in one of the region's zones. */
  createSubnet(
    region: string,
    args: { vpcId: string; cidrBlock: string; availabilityZone?: string; tags: Tags }
  ): SubnetRecord {
    const vpc = this.vpc(region, args.vpcId)
    const { base, size } = cidrRange(args.cidrBlock)
    const outer = cidrRange(vpc.cidrBlock)
    if (!/\/(1[6-9]|2[0-8])$/.test(args.cidrBlock) || base < outer.base || base + size > outer.base + outer.size) {
      throw ec2Error('InvalidSubnet.Range', `The CIDR '${args.cidrBlock}' is invalid.`)
    }
    const overlaps = this.subnetsIn(region).some(
      (s) => s.vpcId === vpc.vpcId && cidrContains(s.cidrBlock, args.cidrBlock.split('/')[0] ?? '')
    )
    if (overlaps) throw ec2Error('InvalidSubnet.Conflict', `The CIDR '${args.cidrBlock}' conflicts with another subnet`)
    const availabilityZone = args.availabilityZone ?? `${region}a`
    const subnet: SubnetRecord = {
      subnetId: newId(this.cloud, 'subnet-'),
      vpcId: vpc.vpcId,
      region,
      availabilityZone,
      cidrBlock: args.cidrBlock,
      defaultForAz: false,
      mapPublicIpOnLaunch: false,
      tags: args.tags,
      allocated: new Set(),
      cursor: 0
    }
    this.subnets.set(subnet.subnetId, subnet)
    return subnet
  }

  subnet(region: string, subnetId: string): SubnetRecord {
    const subnet = this.subnetsIn(region).find((s) => s.subnetId === subnetId)
    if (!subnet) throw ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`)
    return subnet
  }
}
