/** The DNS updater's IAM role (assumable by Lambda). It is read through its policy (role-policy): no read of its own. */
import { CreateRoleCommand, DeleteRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { errorCode } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { roleName } from '../names.js'
import { othersExist } from './project-drift.js'
import { accountOf, partitionOf, tagList, type KindOps, type Refs, type Removal, type Upsert } from './kind.js'

export interface DesiredRole {
  name: string
  /** Canonical JSON. */
  assumeRolePolicy: string
  tags: Record<string, string>
}

export type RoleChange = Upsert<'iam-role', DesiredRole, { name: string }> | Removal<'iam-role', { name: string }>

/**
 * The account id and partition: from an ARN already seen, else from the caller's identity
 * (one read, only on a fresh account and region). The partition is never guessed from the
 * region's name (the ISO regions' is neither `aws` nor derivable from a prefix).
 */
export async function identity(aws: Aws, refs: Refs, hint?: string): Promise<{ accountId: string; partition: string }> {
  refs.accountId ??= accountOf(hint)
  refs.partition ??= partitionOf(hint)
  if (!refs.accountId || !refs.partition) {
    const caller = await aws.send(new GetCallerIdentityCommand({}))
    refs.accountId ??= caller.Account ?? ''
    refs.partition ??= partitionOf(caller.Arn) ?? 'aws'
  }
  return { accountId: refs.accountId, partition: refs.partition }
}

async function createRole(aws: Aws, role: DesiredRole): Promise<string> {
  try {
    const out = await aws.send(
      new CreateRoleCommand({
        RoleName: role.name,
        AssumeRolePolicyDocument: role.assumeRolePolicy,
        Description: 'hyperform-action: the DNS updater Lambda',
        Tags: tagList(role.tags)
      })
    )
    return out.Role?.Arn ?? ''
  } catch (err) {
    if (errorCode(err) !== 'EntityAlreadyExists') throw err
    return (await aws.send(new GetRoleCommand({ RoleName: role.name }))).Role?.Arn ?? ''
  }
}

export const iamRole: KindOps<'iam-role'> = {
  kind: 'iam-role',
  noun: 'role',
  level: 'project',
  dependsOn: [],
  removeAfter: ['role-policy'],
  diff({ desired, current }) {
    const role = desired.project.role
    const base = { kind: 'iam-role' as const, name: role.name, desired: role }
    if (current.rolePolicy) return [{ ...base, action: 'noop', reason: 'up to date', current: { name: role.name } }]
    return [{ ...base, action: 'create', reason: 'role or its policy not found', drift: othersExist(current, 'role') }]
  },
  removals({ current, destroy }) {
    // Only visible through its policy: once anything project-level is left, try it (NoSuchEntity is fine).
    const anything =
      current.queue ||
      current.targets.length > 0 ||
      current.rule ||
      current.function ||
      current.logGroup ||
      current.rolePolicy ||
      current.zone
    if (!destroy || !anything) return []
    const name = current.rolePolicy?.roleName ?? roleName(current.scope)
    return [{ kind: 'iam-role', action: 'delete', name, reason: '', current: { name } }]
  },
  async apply(change, { e, refs }) {
    if (change.action === 'create') {
      const arn = await createRole(e, change.desired)
      refs.accountId ??= accountOf(arn)
      refs.partition ??= partitionOf(arn)
      e.done({ kind: 'iam-role', action: 'create', name: change.name, id: arn })
      return arn
    }
    const { accountId, partition } = await identity(e, refs)
    return `arn:${partition}:iam::${accountId}:role/${change.desired.name}`
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      await tolerate(['NoSuchEntity'], () =>
        e.retryOn(['DeleteConflict'], () => e.send(new DeleteRoleCommand({ RoleName: change.name })))
      )
      e.done({ kind: 'iam-role', action: 'delete', name: change.name })
    }
  }
}
