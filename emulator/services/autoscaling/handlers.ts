/** Auto Scaling's operations, one row each: groups, tags, instance refreshes, lifecycle hooks, instance health, scaling activities. */
import type {
  AttachLoadBalancerTargetGroupsType,
  AttachTrafficSourcesType,
  DescribeLoadBalancerTargetGroupsRequest,
  DescribeTrafficSourcesRequest,
  EnterStandbyQuery,
  ExitStandbyQuery,
  DetachLoadBalancerTargetGroupsType,
  DetachTrafficSourcesType,
  AutoScalingGroupNamesType,
  CancelInstanceRefreshType,
  CompleteLifecycleActionType,
  CreateAutoScalingGroupType,
  DeleteLifecycleHookType,
  DescribeAutoScalingInstancesType,
  DescribeLifecycleHooksType,
  PutLifecycleHookType,
  RecordLifecycleActionHeartbeatType,
  RollbackInstanceRefreshType,
  SetInstanceHealthQuery,
  CreateOrUpdateTagsType,
  DeleteAutoScalingGroupType,
  DeleteTagsType,
  DescribeInstanceRefreshesType,
  DescribeScalingActivitiesType,
  DescribeTagsType,
  SetDesiredCapacityType,
  StartInstanceRefreshType,
  TerminateInstanceInAutoScalingGroupType,
  UpdateAutoScalingGroupType
} from '@aws-sdk/client-auto-scaling'
import type { QueryContext, QueryHandler } from '../../protocols/query.js'
import { paginate } from '../ec2/filters.js'
import type { Fleet } from './fleet.js'
import * as groups from './groups.js'
import { tagDescriptions } from './output.js'
import { cancelInstanceRefresh, rollbackInstanceRefresh, startInstanceRefresh } from './refresh.js'
import * as hooks from './hooks.js'
import * as targetGroups from './target-groups.js'
import { enterStandby, exitStandby } from './standby.js'
import { autoscalingError } from './errors.js'
import { AUTOSCALING_SERVICE_LINKED_ROLE, ensureServiceLinkedRole } from '../iam/service-linked.js'

function describeRefreshes(fleet: Fleet, region: string, input: DescribeInstanceRefreshesType): unknown {
  const group = groups.findGroupRecord(fleet, region, input.AutoScalingGroupName)
  const ids = input.InstanceRefreshIds ?? []
  const list = group.refreshes.filter((r) => ids.length === 0 || ids.includes(r.InstanceRefreshId ?? ''))
  const { page, nextToken } = paginate(list, input.MaxRecords ?? 50, input.NextToken)
  return { InstanceRefreshes: page, NextToken: nextToken }
}

function describeTags(fleet: Fleet, region: string, input: DescribeTagsType): unknown {
  const all = [...fleet.groups.values()].filter((g) => g.region === region).flatMap(tagDescriptions)
  const matching = all.filter((t) =>
    (input.Filters ?? []).every((f) => {
      const field = {
        'auto-scaling-group': t.ResourceId,
        key: t.Key,
        value: t.Value,
        'propagate-at-launch': String(t.PropagateAtLaunch)
      }[f.Name ?? '']
      return field !== undefined && (f.Values ?? []).includes(field)
    })
  )
  const { page, nextToken } = paginate(matching, input.MaxRecords ?? 50, input.NextToken)
  return { Tags: page, NextToken: nextToken }
}

function terminateInGroup(fleet: Fleet, region: string, input: TerminateInstanceInAutoScalingGroupType): unknown {
  const group = [...fleet.groups.values()].find((g) => g.region === region && g.members.has(input.InstanceId ?? ''))
  const member = group?.members.get(input.InstanceId ?? '')
  if (!group || !member)
    throw autoscalingError(
      'ValidationError',
      `Instance Id not found - No managed instance found for instance ID: ${input.InstanceId ?? ''}`
    )
  if (input.ShouldDecrementDesiredCapacity) group.desired = Math.max(group.minSize, group.desired - 1)
  fleet.terminateMember(group, member, 'an instance was taken out of service in response to a user request.')
  fleet.schedule(group)
  const activity = group.activities[0]
  return { Activity: activity }
}

export function handlers(fleet: Fleet): Record<string, QueryHandler> {
  return {
    CreateAutoScalingGroup: (i: CreateAutoScalingGroupType, c: QueryContext) => {
      groups.createGroup(fleet, c.region, i)
      ensureServiceLinkedRole(fleet.cloud, AUTOSCALING_SERVICE_LINKED_ROLE)
    },
    UpdateAutoScalingGroup: (i: UpdateAutoScalingGroupType, c: QueryContext) => groups.updateGroup(fleet, c.region, i),
    DescribeAutoScalingGroups: (i: AutoScalingGroupNamesType, c: QueryContext) =>
      groups.describeGroups(fleet, c.region, i),
    DeleteAutoScalingGroup: (i: DeleteAutoScalingGroupType, c: QueryContext) => groups.deleteGroup(fleet, c.region, i),
    SetDesiredCapacity: (i: SetDesiredCapacityType, c: QueryContext) =>
      groups.updateGroup(fleet, c.region, {
        AutoScalingGroupName: i.AutoScalingGroupName,
        DesiredCapacity: i.DesiredCapacity
      }),
    CreateOrUpdateTags: (i: CreateOrUpdateTagsType, c: QueryContext) => groups.createOrUpdateTags(fleet, c.region, i),
    DeleteTags: (i: DeleteTagsType, c: QueryContext) => groups.deleteTags(fleet, c.region, i),
    DescribeTags: (i: DescribeTagsType, c: QueryContext) => describeTags(fleet, c.region, i),
    StartInstanceRefresh: (i: StartInstanceRefreshType, c: QueryContext) => ({
      InstanceRefreshId: startInstanceRefresh(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i)
    }),
    RollbackInstanceRefresh: (i: RollbackInstanceRefreshType, c: QueryContext) => ({
      InstanceRefreshId: rollbackInstanceRefresh(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName))
    }),
    PutLifecycleHook: (i: PutLifecycleHookType, c: QueryContext) =>
      hooks.putHook(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    DescribeLifecycleHooks: (i: DescribeLifecycleHooksType, c: QueryContext) =>
      hooks.describeHooks(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    DeleteLifecycleHook: (i: DeleteLifecycleHookType, c: QueryContext) =>
      hooks.deleteHook(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    CompleteLifecycleAction: (i: CompleteLifecycleActionType, c: QueryContext) =>
      hooks.completeLifecycleAction(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    RecordLifecycleActionHeartbeat: (i: RecordLifecycleActionHeartbeatType, c: QueryContext) =>
      hooks.recordHeartbeat(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    SetInstanceHealth: (i: SetInstanceHealthQuery, c: QueryContext) => hooks.setInstanceHealth(fleet, c.region, i),
    DescribeAutoScalingInstances: (i: DescribeAutoScalingInstancesType, c: QueryContext) =>
      hooks.describeAutoScalingInstances(fleet, c.region, i),
    CancelInstanceRefresh: (i: CancelInstanceRefreshType, c: QueryContext) => ({
      InstanceRefreshId: cancelInstanceRefresh(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName))
    }),
    DescribeInstanceRefreshes: (i: DescribeInstanceRefreshesType, c: QueryContext) =>
      describeRefreshes(fleet, c.region, i),
    DescribeScalingActivities: (i: DescribeScalingActivitiesType, c: QueryContext) =>
      groups.describeActivities(fleet, c.region, i),
    EnterStandby: (i: EnterStandbyQuery, c: QueryContext) =>
      enterStandby(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    ExitStandby: (i: ExitStandbyQuery, c: QueryContext) =>
      exitStandby(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    TerminateInstanceInAutoScalingGroup: (i: TerminateInstanceInAutoScalingGroupType, c: QueryContext) =>
      terminateInGroup(fleet, c.region, i),
    AttachLoadBalancerTargetGroups: (i: AttachLoadBalancerTargetGroupsType, c: QueryContext) =>
      targetGroups.attachTargetGroups(
        fleet,
        groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName),
        i.TargetGroupARNs
      ),
    DetachLoadBalancerTargetGroups: (i: DetachLoadBalancerTargetGroupsType, c: QueryContext) =>
      targetGroups.detachTargetGroups(
        fleet,
        groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName),
        i.TargetGroupARNs
      ),
    DescribeLoadBalancerTargetGroups: (i: DescribeLoadBalancerTargetGroupsRequest, c: QueryContext) =>
      targetGroups.describeTargetGroups(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    AttachTrafficSources: (i: AttachTrafficSourcesType, c: QueryContext) =>
      targetGroups.attachTrafficSources(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    DetachTrafficSources: (i: DetachTrafficSourcesType, c: QueryContext) =>
      targetGroups.detachTrafficSources(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i),
    DescribeTrafficSources: (i: DescribeTrafficSourcesRequest, c: QueryContext) =>
      targetGroups.describeTrafficSources(fleet, groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName), i)
  }
}

export function state(fleet: Fleet): unknown {
  return {
    groups: [...fleet.groups.values()].map((g) => ({
      name: g.name,
      arn: g.arn,
      region: g.region,
      minSize: g.minSize,
      maxSize: g.maxSize,
      desired: g.desired,
      deleting: g.deleting,
      launchTemplate: g.template,
      mixed: g.mixed,
      tags: g.tags,
      targetGroups: g.targetGroups,
      instances: [...g.members.values()].map((m) => ({
        instanceId: m.instanceId,
        availabilityZone: m.availabilityZone,
        subnetId: m.subnetId,
        instanceType: m.instanceType,
        lifecycle: m.lifecycle,
        health: m.health,
        spot: m.spot,
        template: m.template,
        versionNumber: m.versionNumber,
        launchedAt: m.launchedAt,
        ...(m.actions
          ? {
              lifecycleActions: [...m.actions.values()].map((a) => ({
                hook: a.hook,
                token: a.token,
                ...(a.completed ? { completed: a.completed } : {})
              }))
            }
          : {}),
        ...(m.refreshId ? { refreshId: m.refreshId } : {})
      })),
      lifecycleHooks: [...g.hooks.values()],
      refreshing: g.refreshing,
      refreshConfig: g.refreshConfig,
      surge: g.surge,
      launchBlocked: g.launchBlocked
    }))
  }
}
