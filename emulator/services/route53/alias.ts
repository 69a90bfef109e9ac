/**
 * Alias targets, validated as Route 53 does when a record is created or upserted: an alias to a load
 * balancer must name one that exists, with its region's canonical hosted zone id; an alias to a record of
 * a hosted zone of the account must lie within that zone and name an existing record of the same type.
 * Other hosted zone ids (CloudFront, S3 websites, API Gateway, ...) are services the emulator does not
 * have; their aliases are accepted as given.
 */
import type { Cloud } from '../../types.js'
import { elbState, loadBalancerByDnsName, regionOfHostedZoneId } from '../elbv2/model.js'
import { bareId, type Route53State, type Zone } from './model.js'
import { inZone, type AliasCheck, type RecordSet } from './records.js'

function isLoadBalancerZone(cloud: Cloud, zoneId: string): boolean {
  return (
    regionOfHostedZoneId(zoneId) !== undefined ||
    [...elbState(cloud).loadBalancers.values()].some((lb) => lb.canonicalHostedZoneId === zoneId)
  )
}

/** The alias check for changes to `zone`. */
export function aliasChecker(cloud: Cloud, state: Route53State, zone: Zone): AliasCheck {
  return (r: RecordSet, records: Map<string, RecordSet>) => {
    const alias = r.alias
    if (!alias) return undefined
    const outside = `Tried to create an alias that targets ${alias.dnsName}, type ${r.type} in zone ${alias.hostedZoneId}, but the alias target name does not lie within the target zone`
    if (isLoadBalancerZone(cloud, alias.hostedZoneId)) {
      const lb = loadBalancerByDnsName(cloud, alias.dnsName)
      if (!lb || lb.canonicalHostedZoneId !== alias.hostedZoneId) return outside
      if (r.type !== 'A' && r.type !== 'AAAA')
        return `Tried to create an alias that targets ${alias.dnsName}, type ${r.type} in zone ${alias.hostedZoneId}, but that target was not found`
      return undefined
    }
    const targetZoneId = bareId(alias.hostedZoneId)
    const target = targetZoneId === zone.id ? zone : state.zones.get(targetZoneId)
    if (!target) return undefined
    if (!inZone(alias.dnsName, target.name)) return outside
    const pool = target === zone ? records : target.records
    if (![...pool.values()].some((x) => x.name === alias.dnsName && x.type === r.type))
      return `Tried to create an alias that targets ${alias.dnsName}, type ${r.type} in zone ${alias.hostedZoneId}, but that target was not found`
    return undefined
  }
}
