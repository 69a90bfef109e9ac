/** How many on-demand and spot instances a group wants, as AWS computes it from the distribution. */
import type { GroupRecord, Member } from './model.js'

export function onDemandTarget(group: GroupRecord): number {
  if (!group.mixed) return group.desired
  const { onDemandBase, onDemandPercentage } = group.mixed.distribution
  const base = Math.min(onDemandBase, group.desired)
  const above = group.desired - base
  // AWS rounds the on-demand share above the base up
  return base + Math.ceil((above * onDemandPercentage) / 100)
}

/** Members that count toward capacity: not Terminating, not in (or entering) Standby. */
export function liveMembers(group: GroupRecord): Member[] {
  return [...group.members.values()].filter(
    (m) => m.lifecycle !== 'Terminating' && m.lifecycle !== 'EnteringStandby' && m.lifecycle !== 'Standby'
  )
}

/** In Standby or entering it: part of the group, out of service, not counted toward desired capacity. */
export function inStandby(m: Member): boolean {
  return m.lifecycle === 'EnteringStandby' || m.lifecycle === 'Standby'
}

/**
 * Capacity Rebalancing's launch-before-terminate: one extra instance per live member awaiting its replacement,
 * at most up to the maximum size plus 10% of desired capacity (at least one instance), as AWS allows.
 */
export function rebalanceExtra(group: GroupRecord): number {
  const waiting = liveMembers(group).filter((m) => m.rebalancing).length
  if (waiting === 0) return 0
  const ceiling = group.maxSize + Math.max(1, Math.floor(group.desired / 10))
  return Math.max(0, Math.min(waiting, ceiling - group.desired - group.surge))
}

/** Whether the next launch should be spot. */
export function nextIsSpot(group: GroupRecord): boolean {
  const live = liveMembers(group)
  const onDemand = live.filter((m) => !m.spot).length
  return onDemand >= onDemandTarget(group)
}

function azCounts(members: Member[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const m of members) counts.set(m.availabilityZone, (counts.get(m.availabilityZone) ?? 0) + 1)
  return counts
}

/** The subnet whose AZ has the fewest live instances (ties: the group's subnet order). */
export function pickSubnet(group: GroupRecord, azOf: (subnetId: string) => string): string | undefined {
  const counts = azCounts(liveMembers(group))
  let best: string | undefined
  let bestCount = Infinity
  for (const subnetId of group.subnetIds) {
    const n = counts.get(azOf(subnetId)) ?? 0
    if (n < bestCount) {
      best = subnetId
      bestCount = n
    }
  }
  return best
}

/** Which live member to terminate on scale-in: wrong lifecycle first, then busiest AZ, then oldest version, then oldest. */
export function pickVictim(group: GroupRecord, latestVersion: number): Member | undefined {
  const live = liveMembers(group)
  const tooManySpot = live.filter((m) => m.spot).length > group.desired - onDemandTarget(group)
  const counts = azCounts(live)
  const score = (m: Member): number[] => [
    m.spot === tooManySpot ? 0 : 1,
    -(counts.get(m.availabilityZone) ?? 0),
    m.versionNumber === latestVersion ? 1 : 0,
    m.launchedAt
  ]
  const sorted = [...live].sort((a, b) => {
    const sa = score(a)
    const sb = score(b)
    for (let i = 0; i < sa.length; i++) if ((sa[i] ?? 0) !== (sb[i] ?? 0)) return (sa[i] ?? 0) - (sb[i] ?? 0)
    return 0
  })
  return sorted[0]
}
