/** Group records as the Auto Scaling API returns them. */
import type { AutoScalingGroup, Instance, MixedInstancesPolicy, TagDescription } from '@aws-sdk/client-auto-scaling'
import type { GroupRecord, Member, TemplateSpec } from './model.js'

function templateSpec(t: TemplateSpec): { LaunchTemplateId: string; LaunchTemplateName: string; Version: string } {
  return { LaunchTemplateId: t.id, LaunchTemplateName: t.name, Version: t.version }
}

export function tagDescriptions(group: GroupRecord): TagDescription[] {
  return group.tags.map((t) => ({
    ResourceId: group.name,
    ResourceType: 'auto-scaling-group',
    Key: t.key,
    Value: t.value,
    PropagateAtLaunch: t.propagateAtLaunch
  }))
}

function toInstance(m: Member): Instance {
  return {
    InstanceId: m.instanceId,
    InstanceType: m.instanceType,
    AvailabilityZone: m.availabilityZone,
    LifecycleState: m.lifecycle,
    HealthStatus: m.health,
    LaunchTemplate: { ...templateSpec(m.template), Version: String(m.versionNumber) },
    ProtectedFromScaleIn: false
  }
}

function mixedPolicy(group: GroupRecord): MixedInstancesPolicy | undefined {
  if (!group.mixed) return undefined
  const d = group.mixed.distribution
  return {
    LaunchTemplate: {
      LaunchTemplateSpecification: templateSpec(group.template),
      Overrides: group.mixed.overrides.map((InstanceType) => ({ InstanceType }))
    },
    InstancesDistribution: {
      OnDemandAllocationStrategy: d.onDemandAllocationStrategy,
      OnDemandBaseCapacity: d.onDemandBase,
      OnDemandPercentageAboveBaseCapacity: d.onDemandPercentage,
      SpotAllocationStrategy: d.spotAllocationStrategy,
      ...(d.spotMaxPrice !== undefined ? { SpotMaxPrice: d.spotMaxPrice } : {})
    }
  }
}

export function toGroup(
  group: GroupRecord,
  ctx: { azOf: (subnetId: string) => string; accountId: string }
): AutoScalingGroup {
  const azOf = ctx.azOf
  const mixed = mixedPolicy(group)
  return {
    AutoScalingGroupName: group.name,
    AutoScalingGroupARN: group.arn,
    ...(mixed ? { MixedInstancesPolicy: mixed } : { LaunchTemplate: templateSpec(group.template) }),
    MinSize: group.minSize,
    MaxSize: group.maxSize,
    DesiredCapacity: group.desired,
    DefaultCooldown: group.defaultCooldown,
    AvailabilityZones: [...new Set(group.subnetIds.map(azOf))],
    LoadBalancerNames: [],
    TargetGroupARNs: [...group.targetGroups],
    ...(group.targetGroups.length > 0
      ? { TrafficSources: group.targetGroups.map((arn) => ({ Identifier: arn, Type: 'elbv2' })) }
      : {}),
    HealthCheckType: group.healthCheckType,
    HealthCheckGracePeriod: group.healthCheckGracePeriod,
    Instances: [...group.members.values()].map(toInstance),
    CreatedTime: new Date(group.createdAt),
    SuspendedProcesses: [],
    VPCZoneIdentifier: group.subnetIds.join(','),
    EnabledMetrics: [],
    Tags: tagDescriptions(group),
    TerminationPolicies: group.terminationPolicies,
    NewInstancesProtectedFromScaleIn: false,
    ServiceLinkedRoleARN: `arn:aws:iam::${ctx.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: group.capacityRebalance,
    ...(group.deleting ? { Status: 'Delete in progress' } : {})
  }
}
