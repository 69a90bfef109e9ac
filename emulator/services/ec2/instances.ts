/** Instances: the launch/terminate simulation, DescribeInstances and TerminateInstances. */
import type {
  DescribeInstancesRequest,
  DescribeInstancesResult,
  Instance,
  InstanceStateChange as SdkStateChange,
  Reservation,
  TerminateInstancesRequest
} from '@aws-sdk/client-ec2'
import { al2023ParameterAmi } from '../../types.js'
import { background, safely } from '../../core/background.js'
import { newId } from '../../core/ids.js'
import { matchesFilters, paginate, tagFilterValues, toTagList } from './filters.js'
import { allocateIp, releaseIp } from './network.js'
import type { Ec2World, InstanceRecord, InstanceStateName, LaunchRequest } from './model.js'
import { ec2Error } from './errors.js'

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

/** Launches one instance (pending now, running after simulation.launchDelayMs). */
export function launchInstance(world: Ec2World, req: LaunchRequest): InstanceRecord {
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
    state: 'pending',
    stateTransitionReason: '',
    launchTime: Date.now(),
    tags: { ...req.tags },
    securityGroupIds: [...(req.data.SecurityGroupIds ?? [])],
    spot: req.spot,
    ...(req.launchTemplate ? { launchTemplate: req.launchTemplate } : {}),
    data: req.data
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
  const profile = i.data.IamInstanceProfile
  return {
    InstanceId: i.instanceId,
    ImageId: i.imageId,
    InstanceType: i.instanceType as Instance['InstanceType'],
    State: { Code: STATE_CODES[i.state], Name: i.state },
    StateTransitionReason: i.stateTransitionReason,
    ...(i.stateReason ? { StateReason: { Code: i.stateReason.code, Message: i.stateReason.message } } : {}),
    PrivateDnsName: privateDnsName(i),
    PrivateIpAddress: i.privateIpAddress,
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
    ...(i.data.MetadataOptions ? { MetadataOptions: { ...i.data.MetadataOptions, State: 'applied' } } : {}),
    ...(profile
      ? {
          IamInstanceProfile: {
            Arn: profile.Arn ?? `arn:aws:iam::${world.cloud.accountId}:instance-profile/${profile.Name ?? ''}`
          }
        }
      : {})
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
    launchTemplate: i.launchTemplate
  }))
}
