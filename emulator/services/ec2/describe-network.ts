/** CreateVpc, CreateSubnet, DescribeVpcs, DescribeVpcAttribute, DescribeSubnets, DescribeAvailabilityZones, DescribeImages. */
import type {
  CreateSubnetRequest,
  CreateSubnetResult,
  CreateVpcRequest,
  CreateVpcResult,
  DescribeAvailabilityZonesResult,
  DescribeImagesRequest,
  DescribeImagesResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  DescribeVpcAttributeRequest,
  DescribeVpcAttributeResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  Image,
  ModifyVpcAttributeRequest
} from '@aws-sdk/client-ec2'
import { AL2023_AMIS } from '../../types.js'
import { fromTagList, matchesFilters, paginate, tagFilterValues, toTagList } from './filters.js'
import { cidrRange } from './network.js'
import type { Ec2Vpc, SubnetRecord } from './network.js'
import type { Ec2World } from './model.js'
import { ec2Error } from './errors.js'

/** Public images every region offers (ids are the same in every region here). */
export const EMULATED_IMAGES: readonly { imageId: string; name: string; architecture: string; description: string }[] =
  [
    { ...AL2023_AMIS.x86_64, architecture: 'x86_64', description: 'Amazon Linux 2023 AMI (x86_64)' },
    { ...AL2023_AMIS.arm64, architecture: 'arm64', description: 'Amazon Linux 2023 AMI (arm64)' },
    {
      imageId: 'ami-0a1b2c3d4e5f60003',
      name: 'al2023-ami-ecs-hvm-2023.0.20251110-kernel-6.1-x86_64',
      architecture: 'x86_64',
      description: 'Amazon Linux AMI 2023 x86_64 ECS HVM EBS'
    }
  ]

function vpcFilterValues(v: Ec2Vpc, name: string): string[] | undefined {
  const simple: Record<string, string> = {
    'vpc-id': v.vpcId,
    'is-default': String(v.isDefault),
    'cidr-block': v.cidrBlock,
    cidr: v.cidrBlock,
    'cidr-block-association.cidr-block': v.cidrBlock,
    state: 'available',
    'owner-id': ''
  }
  return name in simple ? [simple[name] ?? ''] : tagFilterValues(v.tags, name)
}

export function describeVpcs(world: Ec2World, region: string, input: DescribeVpcsRequest): DescribeVpcsResult {
  const all = world.network.vpcsIn(region)
  const selected = input.VpcIds?.length ? input.VpcIds.map((id) => world.network.vpc(region, id)) : all
  const matching = selected.filter((v) => matchesFilters(input.Filters, (n) => vpcFilterValues(v, n)))
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  return {
    Vpcs: page.map((v) => ({
      VpcId: v.vpcId,
      CidrBlock: v.cidrBlock,
      State: 'available',
      IsDefault: v.isDefault,
      DhcpOptionsId: 'dopt-0emulator',
      InstanceTenancy: 'default',
      OwnerId: world.cloud.accountId,
      CidrBlockAssociationSet: [
        {
          AssociationId: `vpc-cidr-assoc-${v.vpcId.slice(4)}`,
          CidrBlock: v.cidrBlock,
          CidrBlockState: { State: 'associated' }
        }
      ],
      Tags: toTagList(v.tags)
    })),
    NextToken: nextToken
  }
}

function tagsOf(
  specs: Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: string }> }> | undefined,
  type: string
): Record<string, string> {
  return fromTagList(specs?.find((s) => s.ResourceType === type)?.Tags)
}

export function createVpc(world: Ec2World, region: string, input: CreateVpcRequest): CreateVpcResult {
  if (!input.CidrBlock) throw ec2Error('MissingParameter', 'The request must contain the parameter cidrBlock')
  const vpc = world.network.createVpc(region, input.CidrBlock, tagsOf(input.TagSpecifications, 'vpc'))
  return {
    Vpc: {
      VpcId: vpc.vpcId,
      CidrBlock: vpc.cidrBlock,
      State: 'available',
      IsDefault: false,
      OwnerId: world.cloud.accountId,
      Tags: toTagList(vpc.tags)
    }
  }
}

export function createSubnet(world: Ec2World, region: string, input: CreateSubnetRequest): CreateSubnetResult {
  if (!input.VpcId) throw ec2Error('MissingParameter', 'The request must contain the parameter vpcId')
  if (!input.CidrBlock) throw ec2Error('MissingParameter', 'The request must contain the parameter cidrBlock')
  const subnet = world.network.createSubnet(region, {
    vpcId: input.VpcId,
    cidrBlock: input.CidrBlock,
    availabilityZone: input.AvailabilityZone,
    tags: tagsOf(input.TagSpecifications, 'subnet')
  })
  return {
    Subnet: {
      SubnetId: subnet.subnetId,
      VpcId: subnet.vpcId,
      CidrBlock: subnet.cidrBlock,
      AvailabilityZone: subnet.availabilityZone,
      State: 'available',
      DefaultForAz: false,
      Tags: toTagList(subnet.tags)
    }
  }
}

export function describeVpcAttribute(
  world: Ec2World,
  region: string,
  input: DescribeVpcAttributeRequest
): DescribeVpcAttributeResult {
  const vpc = world.network.vpc(region, input.VpcId ?? '')
  switch (input.Attribute) {
    case 'enableDnsSupport':
      return { VpcId: vpc.vpcId, EnableDnsSupport: { Value: vpc.enableDnsSupport } }
    case 'enableDnsHostnames':
      return { VpcId: vpc.vpcId, EnableDnsHostnames: { Value: vpc.enableDnsHostnames } }
    default:
      throw ec2Error('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid.`)
  }
}

export function modifyVpcAttribute(world: Ec2World, region: string, input: ModifyVpcAttributeRequest): void {
  const vpc = world.network.vpc(region, input.VpcId ?? '')
  if (input.EnableDnsSupport?.Value !== undefined) vpc.enableDnsSupport = input.EnableDnsSupport.Value
  if (input.EnableDnsHostnames?.Value !== undefined) vpc.enableDnsHostnames = input.EnableDnsHostnames.Value
}

function subnetFilterValues(s: SubnetRecord, name: string): string[] | undefined {
  const simple: Record<string, string> = {
    'vpc-id': s.vpcId,
    'subnet-id': s.subnetId,
    'default-for-az': String(s.defaultForAz),
    defaultForAz: String(s.defaultForAz),
    'availability-zone': s.availabilityZone,
    availabilityZone: s.availabilityZone,
    'cidr-block': s.cidrBlock,
    state: 'available'
  }
  return name in simple ? [simple[name] ?? ''] : tagFilterValues(s.tags, name)
}

export function describeSubnets(world: Ec2World, region: string, input: DescribeSubnetsRequest): DescribeSubnetsResult {
  const all = world.network.subnetsIn(region)
  const selected = input.SubnetIds?.length ? input.SubnetIds.map((id) => world.network.subnet(region, id)) : all
  const matching = selected.filter((s) => matchesFilters(input.Filters, (n) => subnetFilterValues(s, n)))
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  return {
    Subnets: page.map((s) => ({
      SubnetId: s.subnetId,
      VpcId: s.vpcId,
      CidrBlock: s.cidrBlock,
      AvailabilityZone: s.availabilityZone,
      AvailabilityZoneId: `use1-az${s.availabilityZone.slice(-1).charCodeAt(0) - 96}`,
      DefaultForAz: s.defaultForAz,
      MapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
      State: 'available',
      AvailableIpAddressCount: cidrRange(s.cidrBlock).size - 5 - s.allocated.size,
      OwnerId: world.cloud.accountId,
      SubnetArn: `arn:aws:ec2:${s.region}:${world.cloud.accountId}:subnet/${s.subnetId}`,
      Tags: toTagList(s.tags)
    })),
    NextToken: nextToken
  }
}

export function describeAvailabilityZones(world: Ec2World, region: string): DescribeAvailabilityZonesResult {
  const zones = [...new Set(world.network.subnetsIn(region).map((s) => s.availabilityZone))]
  return {
    AvailabilityZones: zones.map((z) => ({
      ZoneName: z,
      State: 'available',
      RegionName: region,
      ZoneType: 'availability-zone'
    }))
  }
}

function toImage(img: (typeof EMULATED_IMAGES)[number]): Image {
  return {
    ImageId: img.imageId,
    Name: img.name,
    Description: img.description,
    Architecture: img.architecture as Image['Architecture'],
    OwnerId: '137112412989',
    ImageOwnerAlias: 'amazon',
    Public: true,
    State: 'available',
    ImageType: 'machine',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    CreationDate: '2025-11-10T00:00:00.000Z'
  }
}

function imageFilterValues(img: (typeof EMULATED_IMAGES)[number], name: string): string[] | undefined {
  const simple: Record<string, string> = {
    name: img.name,
    'image-id': img.imageId,
    architecture: img.architecture,
    'owner-alias': 'amazon',
    'owner-id': '137112412989',
    state: 'available',
    'root-device-type': 'ebs',
    'virtualization-type': 'hvm'
  }
  return name in simple ? [simple[name] ?? ''] : undefined
}

export function describeImages(input: DescribeImagesRequest): DescribeImagesResult {
  const owners = input.Owners ?? []
  const amazonAllowed = owners.length === 0 || owners.some((o) => o === 'amazon' || o === '137112412989')
  const byOwner = amazonAllowed ? [...EMULATED_IMAGES] : []
  const byId = input.ImageIds?.length ? byOwner.filter((img) => input.ImageIds?.includes(img.imageId)) : byOwner
  const missing = input.ImageIds?.find((id) => !EMULATED_IMAGES.some((img) => img.imageId === id))
  if (missing) throw ec2Error('InvalidAMIID.NotFound', `The image id '[${missing}]' does not exist`)
  const matching = byId.filter((img) => matchesFilters(input.Filters, (n) => imageFilterValues(img, n)))
  return { Images: matching.map(toImage) }
}
