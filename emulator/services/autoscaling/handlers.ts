/** Auto Scaling's operations, one row each: groups, tags, instance refreshes, scaling activities. */
import type {
  AutoScalingGroupNamesType,
  CancelInstanceRefreshType,
  CreateAutoScalingGroupType,
  CreateOrUpdateTagsType,
  DeleteAutoScalingGroupType,
  DeleteTagsType,
  DescribeAutoScalingInstancesType,
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
import { autoScalingInstance, tagDescriptions } from './output.js'
import { cancelInstanceRefresh, startInstanceRefresh } from './refresh.js'
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

/**
 * Group members by instance id, in any group of the region: ids that no group
 * holds are left out (no error); at most 50 ids, MaxRecords 1 to 50 (default 50).
 */
function describeInstances(fleet: Fleet, region: string, input: DescribeAutoScalingInstancesType): unknown {
  const ids = input.InstanceIds ?? []
  if (ids.length > 50)
    throw autoscalingError('ValidationError', 'The number of instance ids that may be passed in is limited to 50')
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 50))
    throw autoscalingError('ValidationError', 'MaxRecords must be between 1 and 50')
  const wanted = new Set(ids)
  const all = [...fleet.groups.values()]
    .filter((g) => g.region === region)
    .flatMap((g) => [...g.members.values()].map((m) => autoScalingInstance(g, m)))
    .filter((i) => ids.length === 0 || wanted.has(i.InstanceId ?? ''))
    .sort((a, b) => ((a.InstanceId ?? '') < (b.InstanceId ?? '') ? -1 : 1))
  const { page, nextToken } = paginate(all, input.MaxRecords ?? 50, input.NextToken)
  return { AutoScalingInstances: page, NextToken: nextToken }
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
    DescribeAutoScalingInstances: (i: DescribeAutoScalingInstancesType, c: QueryContext) =>
      describeInstances(fleet, c.region, i),
    SetDesiredCapacity: (i: SetDesiredCapacityType, c: QueryContext) =>
      groups.updateGroup(fleet, c.region, {
        AutoScalingGroupName: i.AutoScalingGroupName,
        DesiredCapacity: i.DesiredCapacity
      }),
    CreateOrUpdateTags: (i: CreateOrUpdateTagsType, c: QueryContext) => groups.createOrUpdateTags(fleet, c.region, i),
    DeleteTags: (i: DeleteTagsType, c: QueryContext) => groups.deleteTags(fleet, c.region, i),
    DescribeTags: (i: DescribeTagsType, c: QueryContext) => describeTags(fleet, c.region, i),
    StartInstanceRefresh: (i: StartInstanceRefreshType, c: QueryContext) => ({
      InstanceRefreshId: startInstanceRefresh(
        fleet,
        groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName),
        i.Preferences
      )
    }),
    CancelInstanceRefresh: (i: CancelInstanceRefreshType, c: QueryContext) => ({
      InstanceRefreshId: cancelInstanceRefresh(groups.findGroupRecord(fleet, c.region, i.AutoScalingGroupName))
    }),
    DescribeInstanceRefreshes: (i: DescribeInstanceRefreshesType, c: QueryContext) =>
      describeRefreshes(fleet, c.region, i),
    DescribeScalingActivities: (i: DescribeScalingActivitiesType, c: QueryContext) =>
      groups.describeActivities(fleet, c.region, i),
    TerminateInstanceInAutoScalingGroup: (i: TerminateInstanceInAutoScalingGroupType, c: QueryContext) =>
      terminateInGroup(fleet, c.region, i)
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
      instances: [...g.members.values()],
      launchBlocked: g.launchBlocked
    }))
  }
}
