/** The EC2 state of one emulated cloud, shared by the EC2 and Auto Scaling modules. */
import type { ResponseLaunchTemplateData } from '@aws-sdk/client-ec2'
import type { Cloud } from '../../types.js'
import type { Tags } from './filters.js'
import { Network } from './network.js'
import type { Ec2Vpc } from './network.js'

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated'

export interface RuleSource {
  cidr?: string
  groupId?: string
  description?: string
}

/** One normalised rule: protocol, port range and one source. */
export interface SecurityGroupRule {
  ruleId: string
  egress: boolean
  ipProtocol: string
  fromPort?: number
  toPort?: number
  source: RuleSource
}

export interface SecurityGroupRecord {
  groupId: string
  groupName: string
  description: string
  vpcId: string
  region: string
  createdAt: number
  tags: Tags
  rules: SecurityGroupRule[]
}

export interface LaunchTemplateVersionRecord {
  versionNumber: number
  description?: string
  createdAt: number
  data: ResponseLaunchTemplateData
}

export interface LaunchTemplateRecord {
  launchTemplateId: string
  launchTemplateName: string
  region: string
  createdAt: number
  defaultVersion: number
  versions: LaunchTemplateVersionRecord[]
  tags: Tags
}

export interface InstanceRecord {
  instanceId: string
  reservationId: string
  region: string
  imageId: string
  instanceType: string
  subnetId: string
  vpcId: string
  availabilityZone: string
  privateIpAddress?: string
  /** Set at launch into a subnet that maps public IPs on launch (or when the launch asks for one); released at termination. */
  publicIpAddress?: string
  state: InstanceStateName
  stateReason?: { code: string; message: string }
  stateTransitionReason: string
  launchTime: number
  terminatedAt?: number
  tags: Tags
  securityGroupIds: string[]
  spot: boolean
  launchTemplate?: { id: string; name: string; version: number }
  data: ResponseLaunchTemplateData
  /** The instance profile it was launched with (its ARN and id, as DescribeInstances shows them). */
  iamInstanceProfile?: { arn: string; id: string; name: string }
  /** Set by a spot interruption warning: IMDS meta-data/spot/instance-action (the reclaim's ISO time). */
  spotInstanceAction?: { action: 'terminate'; time: string }
  /** Set by a rebalance recommendation: IMDS meta-data/events/recommendations/rebalance. */
  rebalanceNoticeTime?: string
}

export type VolumeStateName = 'creating' | 'available' | 'in-use'
export type AttachmentStateName = 'attaching' | 'attached' | 'detaching'

export interface VolumeAttachmentRecord {
  instanceId: string
  device: string
  state: AttachmentStateName
  attachTime: number
  /** False after AttachVolume; ModifyInstanceAttribute's BlockDeviceMappings changes it. */
  deleteOnTermination: boolean
}

/** An EBS volume. Deleted volumes leave the map (DescribeVolumes then answers InvalidVolume.NotFound). */
export interface VolumeRecord {
  volumeId: string
  region: string
  availabilityZone: string
  size: number
  volumeType: string
  iops?: number
  throughput?: number
  encrypted: boolean
  kmsKeyId?: string
  snapshotId?: string
  state: VolumeStateName
  createdAt: number
  tags: Tags
  attachment?: VolumeAttachmentRecord
  /**
   * The volume's contents, modelled as a small key -> string map (the control API reads and writes it;
   * a snapshot copies it, a volume created from the snapshot starts with the copy).
   */
  data: Record<string, string>
}

export interface SnapshotRecord {
  snapshotId: string
  region: string
  volumeId: string
  volumeSize: number
  description: string
  encrypted: boolean
  kmsKeyId?: string
  state: 'pending' | 'completed'
  startTime: number
  tags: Tags
  /** The volume's data when the snapshot was taken. */
  data: Record<string, string>
}

export interface LaunchRequest {
  region: string
  subnetId: string
  data: ResponseLaunchTemplateData
  tags: Tags
  spot: boolean
  launchTemplate?: { id: string; name: string; version: number }
}

export class Ec2World {
  readonly network: Network
  readonly groups = new Map<string, SecurityGroupRecord>()
  readonly templates = new Map<string, LaunchTemplateRecord>()
  readonly instances = new Map<string, InstanceRecord>()
  readonly volumes = new Map<string, VolumeRecord>()
  readonly snapshots = new Map<string, SnapshotRecord>()
  /** CreateVolume's ClientToken -> the request it came with (canonical JSON) and the volume it made. */
  readonly volumeTokens = new Map<string, { request: string; volume: VolumeRecord }>()
  /** Public IPv4 addresses handed out at launch, from 198.18.0.0/15 (reserved, never on the internet). */
  private publicIps = 0
  /** Called for every instance state change (after the bus). */
  readonly stateListeners: ((instance: InstanceRecord) => void)[] = []
  /** Called when a spot instance gets a rebalance recommendation or an interruption warning (Auto Scaling's Capacity Rebalancing). */
  readonly spotSignalListeners: ((instance: InstanceRecord, signal: 'rebalance' | 'interruption') => void)[] = []
  /**
   * Spot prices set through the control API (POST /_emulator/spot-prices), by pool key
   * (`region|zone|type|product`), oldest first: they override the seeded price history from their time on.
   */
  readonly spotPriceOverrides = new Map<string, { time: number; price: number }[]>()

  constructor(readonly cloud: Cloud) {
    this.network = new Network(cloud, (vpc) => this.onNewVpc(vpc))
  }

  /** The next public address (AWS's pool gives a new one per launch; a released one is not reused here). */
  nextPublicIp(): string {
    const n = (this.publicIps = (this.publicIps % 131_070) + 1)
    return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`
  }

  /** False while a new resource is still invisible to other calls (faults.ec2VisibilitySeconds). */
  visible(createdAt: number): boolean {
    return Date.now() - createdAt >= this.cloud.faults.ec2VisibilitySeconds * 1000
  }

  /** Whether a terminated instance has aged out of describes. */
  expired(instance: InstanceRecord): boolean {
    return (
      instance.terminatedAt !== undefined &&
      Date.now() - instance.terminatedAt > this.cloud.simulation.terminatedRetentionMs
    )
  }

  /** Every VPC gets its default security group. */
  private onNewVpc(vpc: Ec2Vpc): void {
    const group: SecurityGroupRecord = {
      groupId: `sg-${vpc.vpcId.slice(4)}`,
      groupName: 'default',
      description: 'default VPC security group',
      vpcId: vpc.vpcId,
      region: vpc.region,
      createdAt: 0,
      tags: {},
      rules: [{ ruleId: `sgr-${vpc.vpcId.slice(4)}`, egress: true, ipProtocol: '-1', source: { cidr: '0.0.0.0/0' } }]
    }
    vpc.defaultGroupId = group.groupId
    this.groups.set(group.groupId, group)
  }
}

const worlds = new WeakMap<Cloud, Ec2World>()

export function ec2World(cloud: Cloud): Ec2World {
  let world = worlds.get(cloud)
  if (!world) {
    world = new Ec2World(cloud)
    worlds.set(cloud, world)
  }
  return world
}
