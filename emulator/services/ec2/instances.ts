/** Instances: the launch/terminate simulation, DescribeInstances and TerminateInstances. */
import type {
  DescribeInstancesRequest,
  DescribeInstancesResult,
  Instance,
  InstanceMetadataOptionsResponse,
  InstanceStateChange as SdkStateChange,
  Reservation,
  RunInstancesRequest,
  TerminateInstancesRequest
} from '@aws-sdk/client-ec2'
import { al2023ParameterAmi } from '../../types.js'
import { background, safely } from '../../core/background.js'
import { newId } from '../../core/ids.js'
import { matchesFilters, paginate, tagFilterValues, toTagList } from './filters.js'
import { allocateIp, releaseIp } from './network.js'
import type { Ec2World, InstanceRecord, InstanceStateName, LaunchRequest } from './model.js'
import { ec2Error } from './errors.js'
import { findTemplate, resolveVersion } from './launch-templates.js'
import { findGroup } from './security-groups.js'
import { invalidInstanceProfileMessage, launchableInstanceProfile } from '../../iam-policy/store.js'

const STATE_CODES: Record<InstanceStateName, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function setState(world: Ec2World, instance: InstanceRecord, state: InstanceStateName): void {
  instance.state = state
  const change = { instanceId: instance.instanceId, state, region: instance.region, time: Date.now() }
  safely('ec2-state-change', () => world.cloud.bus.emit('ec2-state-change', change))
  for (const listener of world.stateListeners) safely('instance state', () => listener(instance))
}

/** A launch template may name its AMI as `resolve:ssm:<parameter>`; EC2 resolves it at each launch. */
function resolveImageId(imageId: string | undefined): string {
  if (!imageId?.startsWith('resolve:ssm:')) return imageId ?? 'ami-00000000000000000'
  const parameter = imageId.slice('resolve:ssm:'.length)
  const resolved = al2023ParameterAmi(parameter)
  if (!resolved) throw ec2Error('InvalidParameterValue', `Unable to resolve the SSM parameter ${parameter} in ImageId.`)
  return resolved
}

/** The instance profile a launch names, as EC2 sees it now (IAM is eventually consistent). */
function launchProfile(world: Ec2World, data: LaunchRequest['data']): InstanceRecord['iamInstanceProfile'] {
  const ref = data.IamInstanceProfile
  if (!ref || (ref.Arn === undefined && ref.Name === undefined)) return undefined
  const found = launchableInstanceProfile(world.cloud, ref)
  if (!found) throw ec2Error('InvalidParameterValue', invalidInstanceProfileMessage(ref))
  return { arn: found.profile.arn, id: found.profile.id, name: found.profile.name }
}

/** AL2023 AMIs are IMDSv2-only (ImdsSupport v2.0): tokens required, hop limit 2 unless the launch says otherwise. */
function metadataOptions(data: LaunchRequest['data']): InstanceMetadataOptionsResponse {
  return {
    State: 'applied',
    HttpTokens: 'required',
    HttpPutResponseHopLimit: 2,
    HttpEndpoint: 'enabled',
    HttpProtocolIpv6: 'disabled',
    InstanceMetadataTags: 'disabled',
    ...data.MetadataOptions
  } as InstanceMetadataOptionsResponse
}

/** A launch's first network interface decides (AssociatePublicIpAddress), else the subnet's MapPublicIpOnLaunch. */
function publicAddress(data: LaunchRequest['data'], subnetMaps: boolean): boolean {
  const asked = (
    data as { NetworkInterfaces?: Array<{ DeviceIndex?: number; AssociatePublicIpAddress?: boolean }> }
  ).NetworkInterfaces?.find((n) => (n.DeviceIndex ?? 0) === 0)?.AssociatePublicIpAddress
  return asked ?? subnetMaps
}

/** Launches one instance (pending now, running after simulation.launchDelayMs). */
export function launchInstance(world: Ec2World, req: LaunchRequest): InstanceRecord {
  const profile = launchProfile(world, req.data)
  const subnet = world.network.subnet(req.region, req.subnetId)
  const instance: InstanceRecord = {
    instanceId: newId(world.cloud, 'i-'),
    reservationId: newId(world.cloud, 'r-'),
    region: req.region,
    imageId: resolveImageId(req.data.ImageId),
    instanceType: req.data.InstanceType ?? 'm1.small',
    subnetId: subnet.subnetId,
    vpcId: subnet.vpcId,
    availabilityZone: subnet.availabilityZone,
    privateIpAddress: allocateIp(subnet),
    ...(publicAddress(req.data, subnet.mapPublicIpOnLaunch) ? { publicIpAddress: world.nextPublicIp() } : {}),
    state: 'pending',
    stateTransitionReason: '',
    launchTime: Date.now(),
    tags: { ...req.tags },
    securityGroupIds: [...(req.data.SecurityGroupIds ?? [])],
    spot: req.spot,
    ...(req.launchTemplate ? { launchTemplate: req.launchTemplate } : {}),
    data: req.data,
    ...(profile ? { iamInstanceProfile: profile } : {})
  }
  world.instances.set(instance.instanceId, instance)
  setState(world, instance, 'pending')
  background(
    world.cloud,
    `launch of ${instance.instanceId}`,
    sleep(world.cloud.simulation.launchDelayMs).then(() => {
      if (instance.state === 'pending') setState(world, instance, 'running')
    })
  )
  return instance
}

function finishTermination(world: Ec2World, instance: InstanceRecord): void {
  const subnet = world.network.subnets.get(instance.subnetId)
  if (subnet && instance.privateIpAddress) releaseIp(subnet, instance.privateIpAddress)
  delete instance.privateIpAddress
  delete instance.publicIpAddress
  instance.terminatedAt = Date.now()
  setState(world, instance, 'terminated')
}

/** Starts terminating an instance: shutting-down now, terminated after simulation.terminateDelayMs. */
export function terminateInstance(
  world: Ec2World,
  instance: InstanceRecord,
  reason: { code: string; message: string }
): void {
  if (instance.state === 'shutting-down' || instance.state === 'terminated') return
  instance.stateReason = reason
  instance.stateTransitionReason = `${reason.message} (${new Date().toISOString()})`
  setState(world, instance, 'shutting-down')
  const delay = sleep(world.cloud.simulation.terminateDelayMs)
  background(
    world.cloud,
    `termination of ${instance.instanceId}`,
    delay.then(() => finishTermination(world, instance))
  )
}

export function findInstance(world: Ec2World, region: string, instanceId: string): InstanceRecord {
  if (!/^i-[0-9a-f]{8,17}$/.test(instanceId))
    throw ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${instanceId}"`)
  const instance = world.instances.get(instanceId)
  if (!instance || instance.region !== region || world.expired(instance)) {
    throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`)
  }
  return instance
}

function instanceFilterValues(i: InstanceRecord, name: string): string[] | undefined {
  const simple: Record<string, string | undefined> = {
    'instance-state-name': i.state,
    'instance-state-code': String(STATE_CODES[i.state]),
    'instance-id': i.instanceId,
    'instance-type': i.instanceType,
    'image-id': i.imageId,
    'subnet-id': i.subnetId,
    'vpc-id': i.vpcId,
    'availability-zone': i.availabilityZone,
    'private-ip-address': i.privateIpAddress,
    'ip-address': i.publicIpAddress,
    'instance-lifecycle': i.spot ? 'spot' : undefined,
    'reservation-id': i.reservationId
  }
  if (name in simple) {
    const v = simple[name]
    return v === undefined ? [] : [v]
  }
  if (name === 'instance.group-id') return i.securityGroupIds
  return tagFilterValues(i.tags, name)
}

function privateDnsName(i: InstanceRecord): string {
  if (!i.privateIpAddress) return ''
  const host = `ip-${i.privateIpAddress.replace(/\./g, '-')}`
  return i.region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${i.region}.compute.internal`
}

function toInstance(world: Ec2World, i: InstanceRecord): Instance {
  const groups = i.securityGroupIds.map((id) => ({ GroupId: id, GroupName: world.groups.get(id)?.groupName }))
  const profile = i.iamInstanceProfile
  return {
    InstanceId: i.instanceId,
    ImageId: i.imageId,
    InstanceType: i.instanceType as Instance['InstanceType'],
    State: { Code: STATE_CODES[i.state], Name: i.state },
    StateTransitionReason: i.stateTransitionReason,
    ...(i.stateReason ? { StateReason: { Code: i.stateReason.code, Message: i.stateReason.message } } : {}),
    PrivateDnsName: privateDnsName(i),
    PrivateIpAddress: i.privateIpAddress,
    ...(i.publicIpAddress
      ? {
          PublicIpAddress: i.publicIpAddress,
          PublicDnsName:
            i.region === 'us-east-1'
              ? `ec2-${i.publicIpAddress.replace(/\./g, '-')}.compute-1.amazonaws.com`
              : `ec2-${i.publicIpAddress.replace(/\./g, '-')}.${i.region}.compute.amazonaws.com`
        }
      : {}),
    AmiLaunchIndex: 0,
    LaunchTime: new Date(i.launchTime),
    Placement: { AvailabilityZone: i.availabilityZone, Tenancy: 'default' },
    SubnetId: i.subnetId,
    VpcId: i.vpcId,
    Architecture: 'x86_64',
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    Hypervisor: 'xen',
    VirtualizationType: 'hvm',
    SecurityGroups: groups,
    Tags: toTagList(i.tags),
    ...(i.spot
      ? { InstanceLifecycle: 'spot' as const, SpotInstanceRequestId: `sir-${i.instanceId.slice(2, 10)}` }
      : {}),
    MetadataOptions: metadataOptions(i.data),
    ...(profile ? { IamInstanceProfile: { Arn: profile.arn, Id: profile.id } } : {})
  }
}

function selectInstances(world: Ec2World, region: string, input: DescribeInstancesRequest): InstanceRecord[] {
  if (input.InstanceIds?.length) {
    if (input.MaxResults !== undefined) {
      throw ec2Error(
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults'
      )
    }
    return [...new Set(input.InstanceIds)].map((id) => findInstance(world, region, id))
  }
  return [...world.instances.values()].filter((i) => i.region === region && !world.expired(i))
}

export function describeInstances(
  world: Ec2World,
  region: string,
  input: DescribeInstancesRequest
): DescribeInstancesResult {
  if (input.MaxResults !== undefined && (input.MaxResults < 5 || input.MaxResults > 1000)) {
    throw ec2Error(
      'InvalidParameterValue',
      `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`
    )
  }
  const matching = selectInstances(world, region, input).filter((i) =>
    matchesFilters(input.Filters, (n) => instanceFilterValues(i, n))
  )
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  const reservations: Reservation[] = page.map((i) => ({
    ReservationId: i.reservationId,
    OwnerId: world.cloud.accountId,
    Instances: [toInstance(world, i)]
  }))
  return { Reservations: reservations, NextToken: nextToken }
}

export function terminateInstances(
  world: Ec2World,
  region: string,
  input: TerminateInstancesRequest
): { TerminatingInstances: SdkStateChange[] } {
  const instances = (input.InstanceIds ?? []).map((id) => findInstance(world, region, id))
  const changes = instances.map((i) => {
    const previous = i.state
    terminateInstance(world, i, {
      code: 'Client.UserInitiatedShutdown',
      message: 'Client.UserInitiatedShutdown: User initiated shutdown'
    })
    return {
      InstanceId: i.instanceId,
      PreviousState: { Code: STATE_CODES[previous], Name: previous },
      CurrentState: { Code: STATE_CODES[i.state], Name: i.state }
    }
  })
  return { TerminatingInstances: changes }
}

export function instanceState(world: Ec2World): unknown {
  return [...world.instances.values()].map((i) => ({
    instanceId: i.instanceId,
    region: i.region,
    state: i.state,
    privateIpAddress: i.privateIpAddress,
    subnetId: i.subnetId,
    availabilityZone: i.availabilityZone,
    spot: i.spot,
    tags: i.tags,
    launchTemplate: i.launchTemplate,
    ...(i.iamInstanceProfile ? { iamInstanceProfile: i.iamInstanceProfile } : {})
  }))
}

/**
 * RunInstances, for callers that launch directly (the agent's tests): from a launch template
 * and/or the request's own ImageId, InstanceType, SubnetId, SecurityGroupIds, IamInstanceProfile,
 * MetadataOptions, UserData and TagSpecifications; request values win over the template's.
 * InstanceMarketOptions.MarketType `spot` launches a spot instance (the control routes' spot-interrupt
 * and rebalance then apply to it); the market options are otherwise ignored.
 */
export function runInstances(world: Ec2World, region: string, input: RunInstancesRequest): Reservation {
  const min = input.MinCount ?? 1
  const max = input.MaxCount ?? min
  if (min < 1 || max < min)
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${min}) for parameter minCount is invalid. Expected a positive value no larger than maxCount.`
    )
  let templateData: LaunchRequest['data'] = {}
  let launchTemplate: LaunchRequest['launchTemplate']
  if (input.LaunchTemplate) {
    const t = findTemplate(world, region, input.LaunchTemplate)
    const v = resolveVersion(t, input.LaunchTemplate.Version)
    templateData = v.data
    launchTemplate = { id: t.launchTemplateId, name: t.launchTemplateName, version: v.versionNumber }
  }
  const data: LaunchRequest['data'] = {
    ...templateData,
    ...(input.ImageId ? { ImageId: input.ImageId } : {}),
    ...(input.InstanceType ? { InstanceType: input.InstanceType } : {}),
    ...(input.SecurityGroupIds ? { SecurityGroupIds: input.SecurityGroupIds } : {}),
    ...(input.IamInstanceProfile ? { IamInstanceProfile: input.IamInstanceProfile } : {}),
    ...(input.MetadataOptions
      ? { MetadataOptions: input.MetadataOptions as LaunchRequest['data']['MetadataOptions'] }
      : {}),
    ...(input.UserData ? { UserData: input.UserData } : {})
  }
  if (!data.ImageId) throw ec2Error('MissingParameter', 'The request must contain the parameter ImageId')
  for (const id of data.SecurityGroupIds ?? []) findGroup(world, region, id)
  world.network.ensureRegion(region)
  const subnetId =
    input.SubnetId ??
    world.network.subnetsIn(region).find((s) => s.vpcId === world.network.defaultVpc(region).vpcId)?.subnetId ??
    ''
  const tags: Record<string, string> = {}
  for (const spec of [...(templateData.TagSpecifications ?? []), ...(input.TagSpecifications ?? [])])
    if (spec.ResourceType === 'instance') for (const t of spec.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? ''
  if (launchTemplate) {
    tags['aws:ec2launchtemplate:id'] = launchTemplate.id
    tags['aws:ec2launchtemplate:version'] = String(launchTemplate.version)
  }
  const spot = input.InstanceMarketOptions?.MarketType === 'spot'
  const instances = Array.from({ length: max }, () =>
    launchInstance(world, { region, subnetId, data, tags, spot, ...(launchTemplate ? { launchTemplate } : {}) })
  )
  return {
    ReservationId: instances[0]?.reservationId,
    OwnerId: world.cloud.accountId,
    Instances: instances.map((i) => toInstance(world, i))
  }
}
