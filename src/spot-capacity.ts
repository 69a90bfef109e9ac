/**
 * Spot capacity during the deploy's wait. A spot group short of its desired count for the grace time
 * has its latest scaling activities read (one DescribeScalingActivities per such group); when they
 * show failed spot launches (AWS: "Could not launch Spot Instances. InsufficientInstanceCapacity -
 * There is no Spot capacity available that matches your request. ..."), the wait says so, and with
 * spot-fallback: on-demand moves the missing count to the service's on-demand group (the service's
 * total stays its replicas). The groups carry the count moved in tag hyperform:spot-fallback; the next
 * deploy's plan restores the split (it tries spot again) and removes the tag.
 */
import {
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeScalingActivitiesCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import type { Activity } from '@aws-sdk/client-auto-scaling'
import type { Aws } from './aws/send.js'
import { MANAGED_BY, SPOT_FALLBACK_TAG, TAGS } from './names.js'
import { CONTENTION, maxSize, type CurrentAsg } from './resources/auto-scaling-group.js'
import type { SpotShortage } from './state.js'

/** How long a spot group may be short before its activities are read: 60 s, or half the wait if shorter. */
export function spotGraceMs(timeoutSeconds: number): number {
  return Math.min(60_000, Math.round((timeoutSeconds * 1000) / 2))
}

/** Activity statuses of a spot request AWS has not fulfilled yet: spot capacity has not been found. */
const SPOT_WAITING = ['WaitingForSpotInstanceId', 'WaitingForSpotInstanceRequestId', 'PendingSpotBidPlacement']
/** Statuses of a launch that ended without an instance. */
const SPOT_FAILED = ['Failed', 'Cancelled']
/**
 * The words of a spot launch that found no capacity (every spot launch failure starts "Could not launch
 * Spot Instances.": a bad parameter is not missing capacity). The spot instance quota counts as missing
 * capacity too: on demand is what can run the service then.
 */
const NO_CAPACITY =
  /InsufficientInstanceCapacity|UnfulfillableCapacity|no Spot capacity|capacity-not-available|MaxSpotInstanceCountExceeded/i

/**
 * How many instances a group lacks: its desired count less its members that run or will (not those
 * terminating, nor those in Standby, which a spot warning puts there and which do not count).
 */
export function missing(group: Pick<CurrentAsg, 'desired' | 'instances'>): number {
  const counted = group.instances.filter(
    (i) => !/^(Terminat|Standby|EnteringStandby)/.test(i.lifecycleState ?? '')
  ).length
  return Math.max(0, group.desired - counted)
}

/**
 * The group's latest launch that found no spot capacity, as its newest activity says (AWS lists the
 * newest first); undefined when its newest launch activity is not one.
 */
export async function spotFailure(aws: Aws, group: string): Promise<string | undefined> {
  const out = await aws.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: group, MaxRecords: 10 }))
  const launch = (out.Activities ?? []).find((a) => /launch/i.test(`${a.Description ?? ''} ${a.StatusMessage ?? ''}`))
  return launch && failedSpotLaunch(launch) ? activityMessage(launch) : undefined
}

export function failedSpotLaunch(a: Activity): boolean {
  const status = a.StatusCode ?? ''
  if (SPOT_WAITING.includes(status)) return true
  return SPOT_FAILED.includes(status) && NO_CAPACITY.test(`${a.StatusMessage ?? ''} ${a.Description ?? ''}`)
}

function activityMessage(a: Activity): string {
  const text = a.StatusMessage || (a.Description ?? '').replace(/^.*Status Reason:\s*/, '')
  return text.trim() || `scaling activity ${a.StatusCode ?? ''}`
}

/** The line the wait logs and the report shows. */
export function shortageLine(s: SpotShortage): string {
  const n = `${s.missing} spot instance${s.missing === 1 ? '' : 's'}`
  if (s.onDemand)
    return `${s.service}: ${n} missing for ${s.seconds} s; running ${s.missing === 1 ? 'it' : 'them'} on demand in ${s.onDemandGroup} (spot capacity missing: ${s.message})`
  return `${s.service}: spot capacity missing: ${n} of ${s.group} not launched for ${s.seconds} s: ${s.message}`
}

/**
 * Moves spot instances to the on-demand group: the on-demand group's minimum and desired count become
 * `onDemandSize` (its maximum grows when needed; it is written only when it changes), the spot group's
 * become `spotSize`, and both groups' tag hyperform:spot-fallback says how many the on-demand group
 * runs for the spot group (`moved`).
 */
export async function fallBack(
  aws: Aws,
  groups: { spot: CurrentAsg; onDemand: CurrentAsg },
  sizes: { spot: number; onDemand: number; moved: number }
): Promise<void> {
  const { spot, onDemand } = groups
  if (onDemand.desired !== sizes.onDemand || onDemand.min !== sizes.onDemand)
    await aws.retryOn(CONTENTION, () =>
      aws.send(
        new UpdateAutoScalingGroupCommand({
          AutoScalingGroupName: onDemand.name,
          MinSize: sizes.onDemand,
          DesiredCapacity: sizes.onDemand,
          MaxSize: Math.max(onDemand.max, maxSize(sizes.onDemand))
        })
      )
    )
  await aws.retryOn(CONTENTION, () =>
    aws.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: spot.name,
        MinSize: Math.min(spot.min, sizes.spot),
        DesiredCapacity: sizes.spot
      })
    )
  )
  await aws.send(
    new CreateOrUpdateTagsCommand({
      // With the managed-by tag, which the deployer policy requires on every tag write.
      Tags: [spot.name, onDemand.name].flatMap((ResourceId) => [
        {
          ResourceId,
          ResourceType: 'auto-scaling-group',
          Key: TAGS.managedBy,
          Value: MANAGED_BY,
          PropagateAtLaunch: true
        },
        {
          ResourceId,
          ResourceType: 'auto-scaling-group',
          Key: SPOT_FALLBACK_TAG,
          Value: String(sizes.moved),
          PropagateAtLaunch: false
        }
      ])
    })
  )
}

/**
 * Hands the instances an on-demand group held for its spot group back, once the spot group runs in
 * service again: the group goes to its own size and loses tag hyperform:spot-fallback.
 */
export async function handBack(aws: Aws, onDemand: CurrentAsg, size: number): Promise<void> {
  await aws.retryOn(CONTENTION, () =>
    aws.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: onDemand.name,
        MinSize: size,
        DesiredCapacity: size,
        MaxSize: maxSize(size)
      })
    )
  )
  await aws.send(
    new DeleteTagsCommand({
      Tags: [{ ResourceId: onDemand.name, ResourceType: 'auto-scaling-group', Key: SPOT_FALLBACK_TAG }]
    })
  )
}
