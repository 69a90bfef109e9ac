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

export function liveMembers(group: GroupRecord): Member[] {
  return [...group.members.values()].filter((m) => m.lifecycle !== 'Terminating')
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
