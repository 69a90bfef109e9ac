/** Spot capacity in the wait: what counts as a failed spot launch, the grace time, the lines, and the plan after a fallback. */
import type { Activity } from '@aws-sdk/client-auto-scaling'
import { diff } from '../src/plan.js'
import { SPOT_FALLBACK_TAG } from '../src/names.js'
import { failedSpotLaunch, missing, shortageLine, spotGraceMs } from '../src/spot-capacity.js'
import { currentFrom, desiredFor } from './helpers/deploy-fixtures.js'

const AWS_WORDS =
  'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.'

const activity = (a: Partial<Activity>): Activity =>
  ({ ActivityId: 'a', AutoScalingGroupName: 'g', Cause: '', StartTime: new Date(), ...a }) as Activity

describe('spot capacity', () => {
  test("a failed or cancelled spot launch in AWS's words, or a spot request still waiting, counts as missing spot capacity", () => {
    for (const StatusCode of ['Failed', 'Cancelled', 'WaitingForSpotInstanceId'] as const)
      expect(failedSpotLaunch(activity({ StatusCode, StatusMessage: AWS_WORDS }))).toBe(true)
    expect(
      failedSpotLaunch(
        activity({ StatusCode: 'WaitingForSpotInstanceRequestId', Description: 'Launching a new EC2 instance' })
      )
    ).toBe(true)
  })

  test('a successful launch, or a launch that failed for another reason, does not', () => {
    expect(
      failedSpotLaunch(activity({ StatusCode: 'Successful', Description: 'Launching a new EC2 instance: i-1' }))
    ).toBe(false)
    expect(
      failedSpotLaunch(
        activity({
          StatusCode: 'Failed',
          StatusMessage: 'The image id ami-1 does not exist. Launching EC2 instance failed.'
        })
      )
    ).toBe(false)
    expect(
      failedSpotLaunch(
        activity({
          StatusCode: 'Failed',
          StatusMessage:
            'Could not launch Spot Instances. InvalidParameterValue - Value (x) for parameter iamInstanceProfile.name is invalid. Launching EC2 instance failed.'
        })
      )
    ).toBe(false)
  })

  test('the grace time is 60 s, or half the wait when that is shorter', () => {
    expect(spotGraceMs(900)).toBe(60_000)
    expect(spotGraceMs(30)).toBe(15_000)
  })

  test('a group lacks its desired count less the members that run or will, not those terminating or in standby', () => {
    const group = {
      desired: 3,
      instances: [
        { id: 'i-1', lifecycleState: 'InService' },
        { id: 'i-2', lifecycleState: 'Pending:Wait' },
        { id: 'i-3', lifecycleState: 'Terminating' },
        { id: 'i-4', lifecycleState: 'Standby' }
      ]
    }
    expect(missing(group)).toBe(1)
  })

  test('the lines name the service, the group, the count and the activity, and say when it runs on demand', () => {
    const base = { service: 'wordpress', group: 'g-spot', missing: 1, seconds: 60, message: AWS_WORDS }
    expect(shortageLine({ ...base, onDemand: false })).toBe(
      `wordpress: spot capacity missing: 1 spot instance of g-spot not launched for 60 s: ${AWS_WORDS}`
    )
    expect(shortageLine({ ...base, missing: 2, onDemand: true, onDemandGroup: 'g-od' })).toBe(
      `wordpress: 2 spot instances missing for 60 s; running them on demand in g-od (spot capacity missing: ${AWS_WORDS})`
    )
  })

  test('after a fallback the next plan restores the split as an intended update, not drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    const wp = desired.services.find((s) => s.name === 'wordpress')!
    const [od, spot] = wp.asgs
    current.asgs = current.asgs.map((g) =>
      g.name === od!.name
        ? { ...g, desired: 2, min: 2, max: 4, tags: { ...g.tags, [SPOT_FALLBACK_TAG]: '1' } }
        : g.name === spot!.name
          ? { ...g, desired: 0, min: 0, instances: [], tags: { ...g.tags, [SPOT_FALLBACK_TAG]: '1' } }
          : g
    )
    const plan = diff(desired, current)
    const groups = plan.changes.filter((c) => c.kind === 'auto-scaling-group' && c.service === 'wordpress')
    expect(groups.map((c) => ({ action: c.action, drift: c.drift, fields: c.fields }))).toEqual([
      { action: 'update', drift: false, fields: ['size', 'spotFallback'] },
      { action: 'update', drift: false, fields: ['size', 'spotFallback'] }
    ])
    expect(groups[0]?.reason).toBe('on-demand 2 -> 1, spot fallback of 1 undone: trying spot again')
    expect(groups[1]?.reason).toContain('spot 0 (min 0, max 2) -> 1')
  })

  test('with spot-fallback on-demand and a wait, the next plan restores the spot group but the on-demand group holds its instance for the wait to hand back', () => {
    const desired = desiredFor(undefined, { spotFallback: 'on-demand', wait: true })
    const current = currentFrom(desired)
    const wp = desired.services.find((s) => s.name === 'wordpress')!
    const [od, spot] = wp.asgs
    current.asgs = current.asgs.map((g) =>
      g.name === od!.name
        ? { ...g, desired: 2, min: 2, max: 4, tags: { ...g.tags, [SPOT_FALLBACK_TAG]: '1' } }
        : g.name === spot!.name
          ? { ...g, desired: 0, min: 0, instances: [], tags: { ...g.tags, [SPOT_FALLBACK_TAG]: '1' } }
          : g
    )
    const plan = diff(desired, current)
    const change = (name: string) => plan.changes.find((c) => c.kind === 'auto-scaling-group' && c.name === name)
    expect(change(od!.name)).toMatchObject({
      action: 'noop',
      reason: 'on-demand 1 + 1 held for spot until the wait sees it back'
    })
    expect(change(spot!.name)).toMatchObject({ action: 'update', drift: false, fields: ['size', 'spotFallback'] })
  })

  test('without a wait the on-demand group holds nothing: the split is restored at once', () => {
    const desired = desiredFor(undefined, { spotFallback: 'on-demand', wait: false })
    const current = currentFrom(desired)
    const od = desired.services.find((s) => s.name === 'wordpress')!.asgs[0]!
    current.asgs = current.asgs.map((g) =>
      g.name === od.name ? { ...g, desired: 2, min: 2, max: 4, tags: { ...g.tags, [SPOT_FALLBACK_TAG]: '1' } } : g
    )
    const change = diff(desired, current).changes.find((c) => c.kind === 'auto-scaling-group' && c.name === od.name)
    expect(change).toMatchObject({ action: 'update', drift: false, fields: ['size', 'spotFallback'] })
  })

  test('a group resized by hand without the fallback tag is still drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    const od = desired.services.find((s) => s.name === 'wordpress')!.asgs[0]!
    current.asgs = current.asgs.map((g) => (g.name === od.name ? { ...g, desired: 2, min: 2, max: 4 } : g))
    const change = diff(desired, current).changes.find((c) => c.name === od.name && c.kind === 'auto-scaling-group')
    expect(change).toMatchObject({ action: 'update', drift: true, fields: ['size'] })
  })
})
