/** The `domain` input's hosted zone: it must exist in the account and be public, checked before any write. */
import { ListHostedZonesByNameCommand } from '@aws-sdk/client-route-53'
import { InputError } from '../inputs.js'
import type { PublicZone } from '../state.js'
import { wrap } from './errors.js'
import type { Aws } from './send.js'

/** One read: the zones listed from the domain's name on; the first is the domain's when it exists. */
export async function findPublicZone(aws: Aws, domain: string): Promise<PublicZone> {
  let zones
  try {
    zones = (await aws.send(new ListHostedZonesByNameCommand({ DNSName: domain, MaxItems: 10 }))).HostedZones ?? []
  } catch (err) {
    throw wrap(`finding the hosted zone of domain ${domain}`, err)
  }
  const named = zones.filter((z) => z.Name?.replace(/\.$/, '').toLowerCase() === domain)
  const zone = named.find((z) => !z.Config?.PrivateZone)
  if (!zone?.Id) {
    throw new InputError([
      named.length > 0
        ? `Input "domain": ${domain} is a private hosted zone in this account; the load balancer's names need a public one`
        : `Input "domain": no public hosted zone ${domain} in this account; create it (and delegate it from its parent) or unset domain`
    ])
  }
  return { id: zone.Id.replace(/^\/hostedzone\//, ''), name: domain }
}
