/**
 * IAM roles and instance profiles as EC2 instances get them: paths, listing with PathPrefix and
 * pagination, the role a profile holds, and the conflicts IAM answers; launch templates and
 * instances carrying a profile and metadata options; launches naming a profile EC2 cannot see
 * (missing, without a role, or too new under IAM's eventual consistency); iam:PassRole at launch.
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
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeScalingActivitiesCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand
} from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, roleSession, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let iam: IAMClient
let ec2: EC2Client
let asg: AutoScalingClient

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

beforeAll(async () => {
  emu = await startEmulator({ simulation: { launchDelayMs: 5, terminateDelayMs: 5, launchRetryMs: 30 } })
  iam = new IAMClient(sdkConfig(emu))
  ec2 = new EC2Client(sdkConfig(emu))
  asg = new AutoScalingClient(sdkConfig(emu))
})

afterAll(async () => {
  iam.destroy()
  ec2.destroy()
  asg.destroy()
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

/** A role in a profile, both named `name`. */
async function profileWithRole(name: string): Promise<string> {
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }))
  const p = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
  return p.InstanceProfile?.InstanceProfileId ?? ''
}

const IMAGE = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'
const invalid = (name: string): string =>
  `Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`

describe('launches with an instance profile', () => {
  test('the launch template keeps the profile and metadata options, and its instances carry them', async () => {
    const id = await profileWithRole('web')
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web',
        LaunchTemplateData: {
          ImageId: IMAGE,
          IamInstanceProfile: { Name: 'web' },
          MetadataOptions: {
            HttpTokens: 'required',
            HttpPutResponseHopLimit: 1,
            HttpEndpoint: 'enabled',
            InstanceMetadataTags: 'enabled'
          }
        }
      })
    )
    const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'web' }))
    expect(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData).toMatchObject({
      IamInstanceProfile: { Name: 'web' },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' }
    })
    await expect(
      ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'hops',
          LaunchTemplateData: { ImageId: IMAGE, MetadataOptions: { HttpPutResponseHopLimit: 65 } }
        })
      )
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' })
    const run = await ec2.send(
      new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: 'web' } })
    )
    const instanceId = run.Instances?.[0]?.InstanceId
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId ?? ''] }))
    const instance = described.Reservations?.[0]?.Instances?.[0]
    expect(instance?.IamInstanceProfile).toEqual({
      Arn: `arn:aws:iam::${emu.accountId}:instance-profile/web`,
      Id: id
    })
    expect(instance?.MetadataOptions).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
      State: 'applied'
    })
  })

  test('RunInstances refuses a profile that does not exist or holds no role', async () => {
    await expect(
      ec2.send(
        new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: IMAGE, IamInstanceProfile: { Name: 'nope' } })
      )
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: invalid('nope') })
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'empty' }))
    await expect(
      ec2.send(
        new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: IMAGE, IamInstanceProfile: { Name: 'empty' } })
      )
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: invalid('empty') })
  })

  test('a new profile is invisible to EC2 and Auto Scaling for instanceProfileDelayMs', async () => {
    const control = new EmulatorClient(emu.endpoint)
    await control.setSimulation({ instanceProfileDelayMs: 400 })
    try {
      await profileWithRole('fresh')
      await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'fresh',
          LaunchTemplateData: { ImageId: IMAGE, IamInstanceProfile: { Name: 'fresh' } }
        })
      )
      await expect(
        ec2.send(
          new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: IMAGE, IamInstanceProfile: { Name: 'fresh' } })
        )
      ).rejects.toMatchObject({ message: invalid('fresh') })
      const subnet = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.SubnetId ?? ''
      const create = new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'fresh',
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnet,
        LaunchTemplate: { LaunchTemplateName: 'fresh', Version: '$Latest' }
      })
      await expect(asg.send(create)).rejects.toMatchObject({
        name: 'ValidationError',
        message: `You must use a valid fully-formed launch template. ${invalid('fresh')}`
      })
      await new Promise((resolve) => setTimeout(resolve, 450))
      await asg.send(create)
      await eventually(async () => {
        const out = await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['fresh'] }] })
        )
        return out.Reservations?.[0]?.Instances?.[0]?.IamInstanceProfile?.Arn
      })
    } finally {
      await control.setSimulation({ instanceProfileDelayMs: 0 })
    }
  })

  test("Auto Scaling's launch fails its activity while the profile has no role, and succeeds once it has", async () => {
    await profileWithRole('later')
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'later',
        LaunchTemplateData: { ImageId: IMAGE, IamInstanceProfile: { Name: 'later' } }
      })
    )
    const subnet = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.SubnetId ?? ''
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'later',
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 0,
        VPCZoneIdentifier: subnet,
        LaunchTemplate: { LaunchTemplateName: 'later' }
      })
    )
    await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'later', RoleName: 'later' }))
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'later', DesiredCapacity: 1 }))
    const failed = await eventually(async () => {
      const out = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'later' }))
      return out.Activities?.find((a) => a.StatusCode === 'Failed')
    })
    expect(failed.StatusMessage).toContain(invalid('later'))
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'later', RoleName: 'later' }))
    await eventually(async () => {
      const out = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'later' }))
      return out.Activities?.find((a) => a.Description?.startsWith('Launching a new EC2 instance: i-'))
    })
  })

  test('RunInstances with a profile needs iam:PassRole on its role', async () => {
    await profileWithRole('passed')
    const base = [{ Effect: 'Allow', Action: 'ec2:RunInstances', Resource: '*' }]
    const without = new EC2Client(
      await roleSession(emu, { roleName: 'launcher-a', policy: { Version: '2012-10-17', Statement: base } })
    )
    const withPass = new EC2Client(
      await roleSession(emu, {
        roleName: 'launcher-b',
        policy: {
          Version: '2012-10-17',
          Statement: [
            ...base,
            {
              Effect: 'Allow',
              Action: 'iam:PassRole',
              Resource: `arn:aws:iam::${emu.accountId}:role/passed`,
              Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }
            }
          ]
        }
      })
    )
    const run = new RunInstancesCommand({
      MinCount: 1,
      MaxCount: 1,
      ImageId: IMAGE,
      IamInstanceProfile: { Name: 'passed' }
    })
    try {
      const err = await without.send(run).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'UnauthorizedOperation' })
      expect((err as Error).message).toContain(`iam:PassRole on resource: arn:aws:iam::${emu.accountId}:role/passed`)
      const ok = await withPass.send(run)
      expect(ok.Instances?.[0]?.IamInstanceProfile?.Arn).toBe(`arn:aws:iam::${emu.accountId}:instance-profile/passed`)
    } finally {
      without.destroy()
      withPass.destroy()
    }
  })
})
