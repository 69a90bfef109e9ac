/**
 * The private zone's association with the stack's VPC. A zone is created with the VPC of
 * the first stack that deploys; a stack of the same project and region in another VPC needs
 * the zone associated with its VPC too, else its containers resolve nothing. Checked on a
 * stack's first deploy (its groups, launched only after this, show it was done: a no-op run
 * reads nothing for it), dissociated when the last stack of that VPC goes.
 */
import {
  AssociateVPCWithHostedZoneCommand,
  DisassociateVPCFromHostedZoneCommand,
  GetHostedZoneCommand
} from '@aws-sdk/client-route-53'
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'
import { errorCode } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { TAGS } from '../names.js'
import { vpcDnsProblem } from './hosted-zone.js'
import { tagMap, type KindOps, type Removal, type Upsert } from './kind.js'

export interface DesiredAssociation {
  zoneName: string
  vpcId: string
  region: string
}

export interface CurrentAssociation {
  zoneId: string
  vpcId: string
}

export type AssociationChange =
  Upsert<'zone-association', DesiredAssociation, CurrentAssociation> | Removal<'zone-association', CurrentAssociation>

async function associated(aws: Aws, zoneId: string, vpcId: string): Promise<{ vpcs: string[]; has: boolean }> {
  const vpcs = ((await aws.send(new GetHostedZoneCommand({ Id: zoneId }))).VPCs ?? []).map((v) => v.VPCId ?? '')
  return { vpcs, has: vpcs.includes(vpcId) }
}

/** Associates the zone with the VPC unless it already is; false when it was. */
async function associate(aws: Aws, zoneId: string, want: DesiredAssociation): Promise<boolean> {
  if ((await associated(aws, zoneId, want.vpcId)).has) return false
  const problem = await vpcDnsProblem(aws, want.vpcId)
  if (problem) throw new Error(problem)
  try {
    await aws.send(
      new AssociateVPCWithHostedZoneCommand({
        HostedZoneId: zoneId,
        VPC: { VPCId: want.vpcId, VPCRegion: want.region as never },
        Comment: 'hyperform-action'
      })
    )
    return true
  } catch (err) {
    // A concurrent run associated it first; any other zone of that name in the VPC is a real conflict.
    if (errorCode(err) === 'ConflictingDomainExists' && (await associated(aws, zoneId, want.vpcId)).has) return false
    throw err
  }
}

/** Whether another stack of the project still has resources in the VPC (one tag-filtered read). */
async function vpcUsedByOthers(aws: Aws, args: { project: string; stack: string; vpcId: string }): Promise<boolean> {
  const filters = [
    { Name: `tag:${TAGS.project}`, Values: [args.project] },
    { Name: 'vpc-id', Values: [args.vpcId] }
  ]
  const groups = (await aws.send(new DescribeSecurityGroupsCommand({ Filters: filters }))).SecurityGroups ?? []
  return groups.some((g) => tagMap(g.Tags)[TAGS.stack] !== args.stack)
}

export const zoneAssociation: KindOps<'zone-association'> = {
  kind: 'zone-association',
  noun: 'zone association with',
  level: 'stack',
  dependsOn: ['hosted-zone'],
  removeAfter: ['dns-record'],
  diff({ desired, current }) {
    const want = { zoneName: desired.project.zone.name, vpcId: desired.network.vpcId, region: desired.scope.region }
    const base = { kind: 'zone-association' as const, name: `${want.zoneName}/${want.vpcId}`, desired: want }
    if (!current.zone) return [{ ...base, action: 'noop', reason: 'made with the zone' }]
    const have = { zoneId: current.zone.id, vpcId: want.vpcId }
    const mine = desired.services.flatMap((s) => s.asgs.map((a) => a.name))
    if (current.asgs.some((g) => mine.includes(g.name)))
      return [{ ...base, action: 'noop', reason: 'up to date', current: have }]
    return [
      {
        ...base,
        action: 'create',
        reason: `the stack's first deploy in ${want.vpcId}: associated unless it already is`,
        current: have
      }
    ]
  },
  removals({ current, destroy }) {
    const vpcId = current.securityGroups.find((g) => g.vpcId)?.vpcId
    if (!destroy || !current.zone || !vpcId) return []
    return [
      {
        kind: 'zone-association',
        action: 'delete',
        name: `${current.zone.name}/${vpcId}`,
        reason: '',
        current: { zoneId: current.zone.id, vpcId }
      }
    ]
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const zoneId = await need('hosted-zone')
    if (!zoneId) throw new Error('the hosted zone is not known')
    if (await associate(e, zoneId, change.desired))
      e.done({ kind: 'zone-association', action: 'create', name: change.name, id: zoneId })
  },
  async remove(changes, { e, scope }) {
    for (const change of changes) {
      const have = change.current
      if (!have) continue
      const { vpcs, has } = await associated(e, have.zoneId, have.vpcId).catch((err: unknown) => {
        if (errorCode(err) === 'NoSuchHostedZone') return { vpcs: [], has: false }
        throw err
      })
      // The zone's last VPC stays (AWS refuses to dissociate it; the zone goes with the project's last stack).
      if (
        !has ||
        vpcs.length < 2 ||
        (await vpcUsedByOthers(e, { project: scope.project, stack: scope.stack, vpcId: have.vpcId }))
      )
        continue
      const dissociate = new DisassociateVPCFromHostedZoneCommand({
        HostedZoneId: have.zoneId,
        VPC: { VPCId: have.vpcId, VPCRegion: scope.region as never }
      })
      if (
        await tolerate(['VPCAssociationNotFound', 'LastVPCAssociation', 'NoSuchHostedZone'], () => e.send(dissociate))
      ) {
        e.done({ kind: 'zone-association', action: 'delete', name: change.name })
      }
    }
  }
}
