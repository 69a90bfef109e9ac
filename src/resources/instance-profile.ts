/**
 * A service's instance profile: what hands its instance role to the instances
 * (same name and path as the role). One ListInstanceProfiles by path reads
 * the stack's, with the role each holds. IAM is eventually consistent: for
 * some seconds after this is made, EC2 and Auto Scaling refuse launch
 * templates that name it (the groups ride that out, auto-scaling-group.ts).
 */
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  DeleteInstanceProfileCommand,
  ListInstanceProfilesCommand,
  RemoveRoleFromInstanceProfileCommand,
  paginateListInstanceProfiles,
  type InstanceProfile
} from '@aws-sdk/client-iam'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import { instancePath, instanceRoleName } from '../names.js'
import { templateOf, servicesLeaving } from './launch-template.js'
import { tagList, type KindOps, type Removal, type Upsert } from './kind.js'

export interface DesiredInstanceProfile {
  name: string
  path: string
  roleName: string
  tags: Record<string, string>
}

export interface CurrentInstanceProfile {
  name: string
  arn: string
  /** The roles it holds (at most one). */
  roles: string[]
}

export type InstanceProfileChange =
  | Upsert<'instance-profile', DesiredInstanceProfile, CurrentInstanceProfile>
  | Removal<'instance-profile', CurrentInstanceProfile>

function toProfile(p: InstanceProfile): CurrentInstanceProfile {
  return {
    name: p.InstanceProfileName ?? '',
    arn: p.Arn ?? '',
    roles: (p.Roles ?? []).map((r) => r.RoleName ?? '')
  }
}

export const instanceProfile: KindOps<'instance-profile'> = {
  kind: 'instance-profile',
  noun: 'instance profile',
  level: 'service',
  dependsOn: ['instance-role'],
  removeAfter: ['auto-scaling-group', 'launch-template'],
  async read({ aws, scope, verify }) {
    if (!verify) return {}
    const profiles: CurrentInstanceProfile[] = []
    try {
      for await (const page of paginateListInstanceProfiles(
        { client: aws.through('iam'), pageSize: 1000 },
        { PathPrefix: instancePath(scope) }
      ))
        profiles.push(...(page.InstanceProfiles ?? []).map(toProfile))
    } catch (err) {
      throw wrap(`listing the instance profiles of stack ${scope.stack}`, err)
    }
    return { instanceProfiles: profiles }
  },
  diff({ current }, service) {
    const want = service.instanceProfile
    if (!current.instanceProfiles) {
      // Not verified: a template that names the role's policy was made after the profile held the role.
      const base = { kind: 'instance-profile' as const, name: want.name, service: service.name, desired: want }
      return templateOf(current, service)?.rolePolicy === undefined
        ? [{ ...base, action: 'create', reason: `not found; role ${want.roleName}` }]
        : [{ ...base, action: 'noop', reason: 'up to date' }]
    }
    const have = current.instanceProfiles.find((p) => p.name === want.name)
    const base = {
      kind: 'instance-profile' as const,
      name: want.name,
      service: service.name,
      desired: want,
      current: have
    }
    if (!have)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; role ${want.roleName}`,
          drift: templateOf(current, service) !== undefined
        }
      ]
    if (have.roles.length === 1 && have.roles[0] === want.roleName)
      return [{ ...base, action: 'noop', reason: 'up to date' }]
    const held = have.roles.length > 0 ? have.roles.join(', ') : 'no role'
    return [{ ...base, action: 'update', reason: `${held} -> ${want.roleName}`, fields: ['role'], drift: true }]
  },
  removals({ current, keep, reason }) {
    const profiles =
      current.instanceProfiles?.map((p) => ({
        profile: p,
        // the role of the same name says whose it is
        service: current.instanceRoles?.find((r) => r.name === p.name)?.service
      })) ??
      servicesLeaving(current, keep).map((service) => {
        const name = instanceRoleName(current.scope, service)
        return { profile: { name, arn: '', roles: [name] }, service }
      })
    return profiles
      .filter(({ profile }) => !keep.names.has(profile.name))
      .map(({ profile, service }) => ({
        kind: 'instance-profile' as const,
        action: 'delete' as const,
        name: profile.name,
        service,
        reason,
        current: profile
      }))
  },
  async apply(change, { e, need }) {
    const want = change.desired
    if (change.action === 'noop') return want.name
    await need('instance-role')
    let roles = change.current?.roles ?? []
    if (!change.current) {
      try {
        await e.send(
          new CreateInstanceProfileCommand({
            InstanceProfileName: want.name,
            Path: want.path,
            Tags: tagList(want.tags)
          })
        )
      } catch (err) {
        if (errorCode(err) !== 'EntityAlreadyExists') throw err
        // A run cut short after creating it, or one racing this one: read its roles, since an AddRole to a
        // profile that holds one already answers LimitExceeded, which the SDK retries as throttling.
        const listed = await e.send(new ListInstanceProfilesCommand({ PathPrefix: want.path, MaxItems: 1000 }))
        const profile = listed.InstanceProfiles?.find((p) => p.InstanceProfileName === want.name)
        roles = (profile?.Roles ?? []).flatMap((r) => (r.RoleName ? [r.RoleName] : []))
      }
    }
    for (const role of roles.filter((r) => r !== want.roleName))
      await tolerate(['NoSuchEntity'], () =>
        e.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: want.name, RoleName: role }))
      )
    if (!roles.includes(want.roleName)) {
      await e
        .retryOn(['NoSuchEntity'], () =>
          e.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: want.name, RoleName: want.roleName }))
        )
        .catch((err: unknown) => {
          // LimitExceeded: it holds the role already (one role per profile).
          if (errorCode(err) !== 'LimitExceeded') throw err
        })
    }
    e.done({ kind: 'instance-profile', action: change.action, name: change.name, service: change.service })
    return want.name
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      for (const role of change.current?.roles ?? [])
        await tolerate(['NoSuchEntity'], () =>
          e.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: change.name, RoleName: role }))
        )
      await tolerate(['NoSuchEntity'], () =>
        e.retryOn(['DeleteConflict'], () =>
          e.send(new DeleteInstanceProfileCommand({ InstanceProfileName: change.name }))
        )
      )
      e.done({ kind: 'instance-profile', action: 'delete', name: change.name, service: change.service })
    }
  }
}
