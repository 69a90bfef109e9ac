import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteLaunchTemplateCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifyLaunchTemplateCommand,
  RevokeSecurityGroupIngressCommand,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import { startEmulator } from '../emulator/server.js'
import type { Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ec2: EC2Client

beforeAll(async () => {
  emu = await startEmulator({ simulation: { launchDelayMs: 5, terminateDelayMs: 5 } })
  ec2 = new EC2Client(sdkConfig(emu))
})

afterAll(async () => {
  ec2.destroy()
  await emu.stop()
})

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}

async function defaultVpcId(): Promise<string> {
  const out = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))
  return out.Vpcs?.[0]?.VpcId ?? ''
}

async function launchTemplate(name: string, groupId?: string): Promise<string> {
  const out = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: 'ami-0a1b2c3d4e5f60001',
        InstanceType: 't3.micro',
        ...(groupId ? { SecurityGroupIds: [groupId] } : {})
      }
    })
  )
  return out.LaunchTemplate?.LaunchTemplateId ?? ''
}

async function runInstancesThroughAsg(name: string, count: number, tags: Record<string, string>): Promise<string[]> {
  await launchTemplate(`${name}-lt`)
  const asg = new AutoScalingClient(sdkConfig(emu))
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: count,
      LaunchTemplate: { LaunchTemplateName: `${name}-lt`, Version: '$Latest' },
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true }))
    })
  )
  asg.destroy()
  await emu.waitIdle()
  const out = await ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: [name] }] })
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId ?? '')
}

describe('VPCs and subnets', () => {
  test('the default VPC is 172.28.0.0/16 and is found by the is-default filter, and the undocumented isDefault is refused', async () => {
    const out = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))
    expect(out.Vpcs).toHaveLength(1)
    expect(out.Vpcs?.[0]).toMatchObject({ CidrBlock: '172.28.0.0/16', IsDefault: true, State: 'available' })
    const none = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))
    expect(none.Vpcs).toEqual([])
    await expect(
      ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }))
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' })
  })

  test('a new VPC has DNS support but not DNS hostnames, and its subnets must lie inside it without overlapping', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc
    expect(vpc).toMatchObject({ CidrBlock: '10.20.0.0/16', IsDefault: false })
    const hostnames = await ec2.send(
      new DescribeVpcAttributeCommand({ VpcId: vpc?.VpcId, Attribute: 'enableDnsHostnames' })
    )
    expect(hostnames.EnableDnsHostnames?.Value).toBe(false)
    const subnet = (
      await ec2.send(
        new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1b' })
      )
    ).Subnet
    expect(subnet).toMatchObject({ VpcId: vpc?.VpcId, AvailabilityZone: 'us-east-1b', DefaultForAz: false })
    await expect(
      ec2.send(new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: '10.21.0.0/24' }))
    ).rejects.toMatchObject({ name: 'InvalidSubnet.Range' })
    await expect(
      ec2.send(new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: '10.20.1.0/24' }))
    ).rejects.toMatchObject({ name: 'InvalidSubnet.Conflict' })
    const listed = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc?.VpcId ?? ''] }] })
    )
    expect(listed.Subnets?.map((s) => s.SubnetId)).toEqual([subnet?.SubnetId])
  })

  test('the default VPC has DNS support and DNS hostnames enabled', async () => {
    const vpcId = await defaultVpcId()
    const support = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' }))
    const hostnames = await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' }))
    expect(support.EnableDnsSupport?.Value).toBe(true)
    expect(hostnames.EnableDnsHostnames?.Value).toBe(true)
  })

  test('the default VPC has three default subnets in three availability zones', async () => {
    const vpcId = await defaultVpcId()
    const out = await ec2.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'default-for-az', Values: ['true'] }
        ]
      })
    )
    const subnets = out.Subnets ?? []
    expect(subnets.map((s) => s.CidrBlock).sort()).toEqual(['172.28.0.0/20', '172.28.16.0/20', '172.28.32.0/20'])
    expect(new Set(subnets.map((s) => s.AvailabilityZone)).size).toBe(3)
    const one = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: [subnets[0]?.SubnetId ?? ''] }] })
    )
    expect(one.Subnets).toHaveLength(1)
  })

  test('an unknown VPC id is InvalidVpcID.NotFound', async () => {
    const err = await errorOf(
      ec2.send(new DescribeVpcAttributeCommand({ VpcId: 'vpc-0000000000', Attribute: 'enableDnsSupport' }))
    )
    expect(err.name).toBe('InvalidVpcID.NotFound')
  })

  test('an unsupported filter name is rejected like EC2 does', async () => {
    const err = await errorOf(
      ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }))
    )
    expect(err.name).toBe('InvalidParameterValue')
  })
})

describe('images', () => {
  test('Amazon Linux 2023 images are found by name pattern and owner', async () => {
    const out = await ec2.send(
      new DescribeImagesCommand({
        Owners: ['amazon'],
        Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-x86_64'] }]
      })
    )
    expect(out.Images?.length).toBe(1)
    expect(out.Images?.[0]?.Architecture).toBe('x86_64')
  })
})

describe('security groups', () => {
  test('a security group is created with tags and found by name, id, vpc and tag filters', async () => {
    const vpcId = await defaultVpcId()
    const created = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'test-web',
        Description: 'web',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'stack', Value: 'alpha' }] }]
      })
    )
    expect(created.GroupId).toMatch(/^sg-[0-9a-f]+$/)
    for (const filter of [
      { Name: 'group-name', Values: ['test-web'] },
      { Name: 'group-id', Values: [created.GroupId ?? ''] },
      { Name: 'tag:stack', Values: ['alpha'] },
      { Name: 'tag-key', Values: ['stack'] }
    ]) {
      const out = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [filter, { Name: 'vpc-id', Values: [vpcId] }] })
      )
      expect(out.SecurityGroups?.map((g) => g.GroupId)).toEqual([created.GroupId])
    }
    const byId = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [created.GroupId ?? ''] }))
    expect(byId.SecurityGroups?.[0]).toMatchObject({
      GroupName: 'test-web',
      Description: 'web',
      VpcId: vpcId,
      Tags: [{ Key: 'stack', Value: 'alpha' }]
    })
  })

  test('text with XML special characters survives the round trip', async () => {
    const description = `web & "db" <tier> 'x'`
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'escaping', Description: description })
    )
    const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] }))
    expect(out.SecurityGroups?.[0]?.Description).toBe(description)
  })

  test('DryRun answers DryRunOperation and creates nothing', async () => {
    const err = await errorOf(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'dry', Description: 'd', DryRun: true }))
    )
    expect([err.name, err.status]).toEqual(['DryRunOperation', 412])
    const out = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['dry'] }] })
    )
    expect(out.SecurityGroups).toEqual([])
  })

  test('a second group with the same name in the VPC is InvalidGroup.Duplicate', async () => {
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'dup', Description: 'd' }))
    const err = await errorOf(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'dup', Description: 'd' })))
    expect(err.name).toBe('InvalidGroup.Duplicate')
  })

  test('ingress rules are authorized, described, refused as duplicates and revoked', async () => {
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'rules', Description: 'd' }))
    const perms = [
      { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '172.28.0.0/16', Description: 'vpc' }] }
    ]
    const added = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms }))
    expect(added.Return).toBe(true)
    expect(added.SecurityGroupRules?.[0]).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 3306,
      CidrIpv4: '172.28.0.0/16',
      IsEgress: false
    })
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] }))
    expect(described.SecurityGroups?.[0]?.IpPermissions).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 3306,
        ToPort: 3306,
        IpRanges: [{ CidrIp: '172.28.0.0/16', Description: 'vpc' }]
      })
    ])
    expect(described.SecurityGroups?.[0]?.IpPermissionsEgress?.[0]?.IpRanges?.[0]?.CidrIp).toBe('0.0.0.0/0')
    expect(
      (await errorOf(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms })))).name
    ).toBe('InvalidPermission.Duplicate')
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms }))
    const after = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] }))
    expect(after.SecurityGroups?.[0]?.IpPermissions).toEqual([])
    expect(
      (await errorOf(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms })))).name
    ).toBe('InvalidPermission.NotFound')
  })

  test('an unknown group is InvalidGroup.NotFound for describe, authorize and delete', async () => {
    expect(
      (await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })))).name
    ).toBe('InvalidGroup.NotFound')
    const perms = [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]
    expect(
      (
        await errorOf(
          ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-0123456789abcdef0', IpPermissions: perms }))
        )
      ).name
    ).toBe('InvalidGroup.NotFound')
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: 'sg-0123456789abcdef0' })))).name).toBe(
      'InvalidGroup.NotFound'
    )
  })

  test('a group used by a running instance cannot be deleted until its instances are gone', async () => {
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'in-use', Description: 'd' }))
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'in-use-lt',
        LaunchTemplateData: { ImageId: 'ami-0a1b2c3d4e5f60001', SecurityGroupIds: [GroupId ?? ''] }
      })
    )
    const asg = new AutoScalingClient(sdkConfig(emu))
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'in-use',
        MinSize: 0,
        MaxSize: 1,
        DesiredCapacity: 1,
        LaunchTemplate: { LaunchTemplateName: 'in-use-lt' }
      })
    )
    await emu.waitIdle()
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId })))).name).toBe('DependencyViolation')
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'in-use', ForceDelete: true }))
    asg.destroy()
    await emu.waitIdle()
    const deleted = await ec2.send(new DeleteSecurityGroupCommand({ GroupId }))
    expect(deleted.Return).toBe(true)
  })

  test("a group referenced by another group's rule cannot be deleted", async () => {
    const db = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'ref-db', Description: 'd' }))
    const web = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'ref-web', Description: 'd' }))
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: db.GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: web.GroupId }] }
        ]
      })
    )
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [db.GroupId ?? ''] }))
    expect(described.SecurityGroups?.[0]?.IpPermissions?.[0]?.UserIdGroupPairs?.[0]?.GroupId).toBe(web.GroupId)
    expect((await errorOf(ec2.send(new DeleteSecurityGroupCommand({ GroupId: web.GroupId })))).name).toBe(
      'DependencyViolation'
    )
  })

  test('an unused group is deleted and is then not found', async () => {
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'to-delete', Description: 'd' }))
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId }))
    expect((await errorOf(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] })))).name).toBe(
      'InvalidGroup.NotFound'
    )
  })
})

describe('launch templates', () => {
  test('a launch template keeps its data: image, type, user data, security groups, metadata options, profile', async () => {
    const userData = Buffer.from('#!/bin/sh\necho hi\n').toString('base64')
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'lt-full',
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'stack', Value: 'beta' }] }],
        LaunchTemplateData: {
          ImageId: 'ami-0a1b2c3d4e5f60001',
          InstanceType: 't3.small',
          UserData: userData,
          SecurityGroupIds: ['sg-1', 'sg-2'],
          IamInstanceProfile: { Name: 'profile' },
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'service', Value: 'db' }] }]
        }
      })
    )
    expect(created.LaunchTemplate).toMatchObject({
      LaunchTemplateName: 'lt-full',
      DefaultVersionNumber: 1,
      LatestVersionNumber: 1
    })
    const versions = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: created.LaunchTemplate?.LaunchTemplateId,
        Versions: ['$Latest']
      })
    )
    const data = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData
    expect(data).toMatchObject({
      ImageId: 'ami-0a1b2c3d4e5f60001',
      InstanceType: 't3.small',
      UserData: userData,
      SecurityGroupIds: ['sg-1', 'sg-2'],
      IamInstanceProfile: { Name: 'profile' },
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'service', Value: 'db' }] }]
    })
    const byTag = await ec2.send(
      new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:stack', Values: ['beta'] }] })
    )
    expect(byTag.LaunchTemplates?.map((t) => t.LaunchTemplateName)).toEqual(['lt-full'])
    const byName = await ec2.send(
      new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: ['lt-full'] }] })
    )
    expect(byName.LaunchTemplates?.[0]?.Tags).toEqual([{ Key: 'stack', Value: 'beta' }])
  })

  test('a duplicate name is InvalidLaunchTemplateName.AlreadyExistsException', async () => {
    await launchTemplate('lt-dup')
    expect((await errorOf(launchTemplate('lt-dup'))).name).toBe('InvalidLaunchTemplateName.AlreadyExistsException')
  })

  test('unknown templates are not found by id or by name with the codes EC2 uses', async () => {
    expect(
      (await errorOf(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ['lt-0123456789abcdef0'] }))))
        .name
    ).toBe('InvalidLaunchTemplateId.NotFound')
    expect((await errorOf(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['nope'] })))).name).toBe(
      'InvalidLaunchTemplateName.NotFoundException'
    )
  })

  test('new versions, $Latest, $Default, a Versions list and ModifyLaunchTemplate resolve as in EC2', async () => {
    const id = await launchTemplate('lt-versions')
    const v2 = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: id,
        SourceVersion: '1',
        LaunchTemplateData: { InstanceType: 't3.large' }
      })
    )
    expect(v2.LaunchTemplateVersion).toMatchObject({ VersionNumber: 2, DefaultVersion: false })
    expect(v2.LaunchTemplateVersion?.LaunchTemplateData).toMatchObject({
      ImageId: 'ami-0a1b2c3d4e5f60001',
      InstanceType: 't3.large'
    })
    const latest = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'lt-versions', Versions: ['$Latest'] })
    )
    expect(latest.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([2])
    const dflt = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'lt-versions', Versions: ['$Default'] })
    )
    expect(dflt.LaunchTemplateVersions?.map((v) => v.VersionNumber)).toEqual([1])
    const both = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['1', '2'] })
    )
    expect(both.LaunchTemplateVersions?.map((v) => v.VersionNumber).sort()).toEqual([1, 2])
    const modified = await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }))
    expect(modified.LaunchTemplate?.DefaultVersionNumber).toBe(2)
    const after = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions: ['$Default'] })
    )
    expect(after.LaunchTemplateVersions?.[0]).toMatchObject({ VersionNumber: 2, DefaultVersion: true })
  })

  test('user data that is not base64 is refused', async () => {
    const err = await errorOf(
      ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'lt-bad-ud',
          LaunchTemplateData: { UserData: 'not base64!' }
        })
      )
    )
    expect(err.name).toBe('InvalidUserData.Malformed')
  })

  test('a deleted template is gone', async () => {
    const id = await launchTemplate('lt-delete')
    const out = await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }))
    expect(out.LaunchTemplate?.LaunchTemplateName).toBe('lt-delete')
    expect((await errorOf(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] })))).name).toBe(
      'InvalidLaunchTemplateId.NotFound'
    )
  })
})

describe('instances', () => {
  test('instances are found by tag, tag-key, state and id filters and by InstanceIds', async () => {
    const ids = await runInstancesThroughAsg('filters', 2, { project: 'prj-filters' })
    expect(ids).toHaveLength(2)
    const byTag = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:project', Values: ['prj-filters'] },
          { Name: 'instance-state-name', Values: ['running'] }
        ]
      })
    )
    expect(
      byTag.Reservations?.flatMap((r) => r.Instances ?? [])
        .map((i) => i.InstanceId)
        .sort()
    ).toEqual([...ids].sort())
    const byKey = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['project'] },
          { Name: 'instance-id', Values: [ids[0] ?? ''] }
        ]
      })
    )
    expect(byKey.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([ids[0]])
    const byIds = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))
    expect(byIds.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(2)
    const pending = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:project', Values: ['prj-filters'] },
          { Name: 'instance-state-name', Values: ['pending'] }
        ]
      })
    )
    expect(pending.Reservations).toEqual([])
  })

  test('a running instance has a private IP in its subnet, a private DNS name and the template data', async () => {
    const [id] = await runInstancesThroughAsg('ipcheck', 1, {})
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id ?? ''] }))
    const instance = out.Reservations?.[0]?.Instances?.[0]
    expect(instance?.State).toEqual({ Code: 16, Name: 'running' })
    expect(instance?.InstanceType).toBe('t3.micro')
    expect(instance?.ImageId).toBe('ami-0a1b2c3d4e5f60001')
    const subnets = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [instance?.SubnetId ?? ''] }))
    const cidr = subnets.Subnets?.[0]?.CidrBlock ?? ''
    const [a, b, c] = (instance?.PrivateIpAddress ?? '').split('.').map(Number)
    const [ca, cb, cc] = cidr.split('/')[0]?.split('.').map(Number) ?? []
    expect([a, b]).toEqual([ca, cb])
    expect((c ?? 0) - (cc ?? 0)).toBeGreaterThanOrEqual(0)
    expect((c ?? 0) - (cc ?? 0)).toBeLessThan(16)
    expect(instance?.PrivateDnsName).toBe(`ip-${instance?.PrivateIpAddress?.replace(/\./g, '-')}.ec2.internal`)
  })

  test('MaxResults and NextToken page through instances without repeats', async () => {
    await runInstancesThroughAsg('paging', 7, { paging: 'yes' })
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const out = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'tag:paging', Values: ['yes'] }],
          MaxResults: 5,
          NextToken: token
        })
      )
      seen.push(...(out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId ?? ''))
      token = out.NextToken
      pages++
    } while (token)
    expect(pages).toBe(2)
    expect(new Set(seen).size).toBe(7)
  })

  test('a terminated instance stays describable without a private IP', async () => {
    const [id] = await runInstancesThroughAsg('terminate-me', 1, {})
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id ?? ''] }))
    expect(out.TerminatingInstances?.[0]).toMatchObject({
      InstanceId: id,
      PreviousState: { Name: 'running' },
      CurrentState: { Name: 'shutting-down' }
    })
    await emu.waitIdle()
    const after = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id ?? ''] }))
    const instance = after.Reservations?.[0]?.Instances?.[0]
    expect(instance?.State?.Name).toBe('terminated')
    expect(instance?.PrivateIpAddress).toBeUndefined()
    expect(instance?.StateReason?.Code).toBe('Client.UserInitiatedShutdown')
  })

  test('a terminated instance disappears once the retention time has passed', async () => {
    const [id] = await runInstancesThroughAsg('retention', 1, { retention: 'yes' })
    const retention = emu.cloud.simulation.terminatedRetentionMs
    emu.cloud.simulation.terminatedRetentionMs = 40
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id ?? ''] }))
      await emu.waitIdle()
      const justAfter = await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id ?? ''] }] })
      )
      expect(justAfter.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('terminated')
      await new Promise((resolve) => setTimeout(resolve, 60))
      const later = await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id ?? ''] }] })
      )
      expect(later.Reservations).toEqual([])
      expect((await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id ?? ''] })))).name).toBe(
        'InvalidInstanceID.NotFound'
      )
    } finally {
      emu.cloud.simulation.terminatedRetentionMs = retention
    }
  })

  test('an unknown instance id is InvalidInstanceID.NotFound', async () => {
    const err = await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))
    expect(err.name).toBe('InvalidInstanceID.NotFound')
  })
})

describe('tags', () => {
  test('CreateTags and DeleteTags change instance and security group tags', async () => {
    const [id] = await runInstancesThroughAsg('tagging', 1, {})
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'tagging', Description: 'd' }))
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id ?? '', GroupId ?? ''],
        Tags: [
          { Key: 'k', Value: 'v' },
          { Key: 'gone', Value: 'x' }
        ]
      })
    )
    await ec2.send(new DeleteTagsCommand({ Resources: [id ?? '', GroupId ?? ''], Tags: [{ Key: 'gone' }] }))
    const inst = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:k', Values: ['v'] }] }))
    expect(inst.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([id])
    const sg = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] }))
    expect(sg.SecurityGroups?.[0]?.Tags).toEqual([{ Key: 'k', Value: 'v' }])
    const none = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag-key', Values: ['gone'] }] }))
    expect(none.Reservations).toEqual([])
  })
})

describe('shared state', () => {
  test('the default VPC is registered in cloud.shared.vpcs for other modules', async () => {
    const vpcId = await defaultVpcId()
    expect(emu.cloud.shared.vpcs.get(vpcId)).toMatchObject({
      cidrBlock: '172.28.0.0/16',
      enableDnsSupport: true,
      enableDnsHostnames: true,
      region: 'us-east-1'
    })
  })
})
