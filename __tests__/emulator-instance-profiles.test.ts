/**
 * IAM roles and instance profiles as EC2 instances get them: paths, listing with PathPrefix and
 * pagination, the role a profile holds, and the conflicts IAM answers.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteConflictException,
  DeleteRoleCommand,
  GetInstanceProfileCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListInstanceProfilesForRoleCommand,
  ListRolesCommand,
  NoSuchEntityException,
  RemoveRoleFromInstanceProfileCommand
} from '@aws-sdk/client-iam'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let iam: IAMClient

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

beforeAll(async () => {
  emu = await startEmulator()
  iam = new IAMClient(sdkConfig(emu))
})

afterAll(async () => {
  iam.destroy()
  await emu.stop()
})

describe('roles and instance profiles with paths', () => {
  test('ListRoles and ListInstanceProfiles honour PathPrefix and paginate with Marker', async () => {
    for (const n of ['a', 'b', 'c'])
      await iam.send(
        new CreateRoleCommand({ RoleName: `svc-${n}`, Path: '/hyperform/', AssumeRolePolicyDocument: TRUST })
      )
    await iam.send(new CreateRoleCommand({ RoleName: 'other', AssumeRolePolicyDocument: TRUST }))
    const role = await iam.send(new ListRolesCommand({ PathPrefix: '/hyperform/', MaxItems: 2 }))
    expect(role.Roles?.map((r) => r.RoleName)).toEqual(['svc-a', 'svc-b'])
    expect(role.Roles?.[0]).toMatchObject({
      Path: '/hyperform/',
      Arn: `arn:aws:iam::${emu.accountId}:role/hyperform/svc-a`
    })
    expect(role.IsTruncated).toBe(true)
    const rest = await iam.send(new ListRolesCommand({ PathPrefix: '/hyperform/', MaxItems: 2, Marker: role.Marker }))
    expect(rest.Roles?.map((r) => r.RoleName)).toEqual(['svc-c'])
    expect(rest.IsTruncated).toBe(false)
    expect((await iam.send(new ListRolesCommand({}))).Roles?.map((r) => r.RoleName)).toContain('other')
    await expect(
      iam.send(new CreateRoleCommand({ RoleName: 'bad', Path: 'nope', AssumeRolePolicyDocument: TRUST }))
    ).rejects.toMatchObject({ name: 'ValidationError' })

    for (const n of ['a', 'b', 'c'])
      await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: `svc-${n}`, Path: '/hyperform/' }))
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'plain' }))
    const profiles = await iam.send(new ListInstanceProfilesCommand({ PathPrefix: '/hyperform/', MaxItems: 1 }))
    expect(profiles.InstanceProfiles?.map((p) => p.InstanceProfileName)).toEqual(['svc-a'])
    expect(profiles.InstanceProfiles?.[0]?.Arn).toBe(`arn:aws:iam::${emu.accountId}:instance-profile/hyperform/svc-a`)
    const names: string[] = []
    let Marker: string | undefined
    do {
      const page = await iam.send(new ListInstanceProfilesCommand({ PathPrefix: '/hyperform/', MaxItems: 1, Marker }))
      names.push(...(page.InstanceProfiles ?? []).map((p) => p.InstanceProfileName ?? ''))
      Marker = page.IsTruncated ? page.Marker : undefined
    } while (Marker)
    expect(names).toEqual(['svc-a', 'svc-b', 'svc-c'])
  })

  test('a profile holds one role, which cannot be deleted while it is in the profile', async () => {
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'svc-a', RoleName: 'svc-a' }))
    const got = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'svc-a' }))
    expect(got.InstanceProfile?.Roles?.map((r) => r.RoleName)).toEqual(['svc-a'])
    expect(got.InstanceProfile?.Roles?.[0]?.Path).toBe('/hyperform/')
    await expect(
      iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'svc-a', RoleName: 'svc-b' }))
    ).rejects.toMatchObject({ name: 'LimitExceededException' })
    const forRole = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: 'svc-a' }))
    expect(forRole.InstanceProfiles?.map((p) => p.InstanceProfileName)).toEqual(['svc-a'])
    await expect(iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: 'ghost' }))).rejects.toBeInstanceOf(
      NoSuchEntityException
    )
    await expect(iam.send(new DeleteRoleCommand({ RoleName: 'svc-a' }))).rejects.toBeInstanceOf(DeleteConflictException)
    await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'svc-a', RoleName: 'svc-a' }))
    await iam.send(new DeleteRoleCommand({ RoleName: 'svc-a' }))
    await expect(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'ghost' }))).rejects.toBeInstanceOf(
      NoSuchEntityException
    )
  })
})
