import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  PutRolePolicyCommand,
  UpdateRoleCommand
} from '@aws-sdk/client-iam'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { startEmulator } from '../emulator/server.js'
import type { Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let iam: IAMClient

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
const policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' }]
})

beforeAll(async () => {
  emu = await startEmulator({ accountId: '210987654321' })
  iam = new IAMClient(sdkConfig(emu))
})

afterAll(async () => {
  iam.destroy()
  await emu.stop()
})

async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}

describe('IAM roles', () => {
  test('a created role is returned by GetRole with its ARN, tags and URL-encoded trust policy', async () => {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: 'updater',
        AssumeRolePolicyDocument: trust,
        Tags: [{ Key: 'project', Value: 'prj-demo' }]
      })
    )
    expect(created.Role?.Arn).toBe('arn:aws:iam::210987654321:role/updater')
    expect(created.Role?.RoleId).toMatch(/^AROA[0-9A-F]{17}$/)
    const got = await iam.send(new GetRoleCommand({ RoleName: 'updater' }))
    expect(got.Role?.Tags).toEqual([{ Key: 'project', Value: 'prj-demo' }])
    expect(got.Role?.AssumeRolePolicyDocument).toBe(encodeURIComponent(trust))
    expect(JSON.parse(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? ''))).toEqual(JSON.parse(trust))
    expect(got.Role?.CreateDate).toBeInstanceOf(Date)
    const record = emu.cloud.shared.roles.get('updater')
    expect(record?.createdAt).toBeLessThanOrEqual(Date.now())
    expect(record?.assumeRolePolicyDocument).toBe(trust)
  })

  test('creating an existing role is EntityAlreadyExists', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'twice', AssumeRolePolicyDocument: trust }))
    const err = await failure(iam.send(new CreateRoleCommand({ RoleName: 'twice', AssumeRolePolicyDocument: trust })))
    expect([err.name, err.status]).toEqual(['EntityAlreadyExistsException', 409])
  })

  test('an unknown role is NoSuchEntity with status 404', async () => {
    const err = await failure(iam.send(new GetRoleCommand({ RoleName: 'ghost' })))
    expect([err.name, err.status]).toEqual(['NoSuchEntityException', 404])
  })

  test('a malformed trust policy is refused', async () => {
    const err = await failure(
      iam.send(new CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: '{not json' }))
    )
    expect(err.name).toBe('MalformedPolicyDocumentException')
  })

  test('inline policies are put, read URL-encoded, listed and deleted', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'with-policy', AssumeRolePolicyDocument: trust }))
    await iam.send(
      new PutRolePolicyCommand({ RoleName: 'with-policy', PolicyName: 'describe', PolicyDocument: policy })
    )
    const got = await iam.send(new GetRolePolicyCommand({ RoleName: 'with-policy', PolicyName: 'describe' }))
    expect(got.PolicyDocument).toBe(encodeURIComponent(policy))
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'with-policy' }))).PolicyNames).toEqual(['describe'])
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'with-policy', PolicyName: 'describe' }))
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'with-policy' }))).PolicyNames).toEqual([])
    expect(
      (await failure(iam.send(new GetRolePolicyCommand({ RoleName: 'with-policy', PolicyName: 'describe' })))).name
    ).toBe('NoSuchEntityException')
  })

  test('a role with inline policies cannot be deleted until they are removed', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'conflict', AssumeRolePolicyDocument: trust }))
    await iam.send(new PutRolePolicyCommand({ RoleName: 'conflict', PolicyName: 'p', PolicyDocument: policy }))
    const err = await failure(iam.send(new DeleteRoleCommand({ RoleName: 'conflict' })))
    expect([err.name, err.status]).toEqual(['DeleteConflictException', 409])
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'conflict', PolicyName: 'p' }))
    await iam.send(new DeleteRoleCommand({ RoleName: 'conflict' }))
    expect(emu.cloud.shared.roles.has('conflict')).toBe(false)
    expect((await failure(iam.send(new GetRoleCommand({ RoleName: 'conflict' })))).name).toBe('NoSuchEntityException')
  })
})

describe('role descriptions', () => {
  test('a description given at creation is changed by UpdateRole and listed by ListRoles under its path', async () => {
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'described',
        Path: '/team/app/',
        AssumeRolePolicyDocument: trust,
        Description: 'first words'
      })
    )
    await iam.send(new UpdateRoleCommand({ RoleName: 'described', Description: 'second words' }))
    const listed = await iam.send(new ListRolesCommand({ PathPrefix: '/team/' }))
    expect(listed.Roles?.map((r) => [r.RoleName, r.Description, r.Path])).toEqual([
      ['described', 'second words', '/team/app/']
    ])
    expect((await iam.send(new GetRoleCommand({ RoleName: 'described' }))).Role?.MaxSessionDuration).toBe(3600)
  })

  test('UpdateRole of an unknown role is NoSuchEntity, and a description over 1000 characters is refused', async () => {
    expect(await failure(iam.send(new UpdateRoleCommand({ RoleName: 'nobody', Description: 'x' })))).toEqual({
      name: 'NoSuchEntityException',
      status: 404
    })
    expect(
      await failure(iam.send(new UpdateRoleCommand({ RoleName: 'described', Description: 'x'.repeat(1001) })))
    ).toMatchObject({ name: 'ValidationError', status: 400 })
  })
})

describe('managed policies', () => {
  test('an attached managed policy is listed and blocks role deletion until detached', async () => {
    const arn = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'
    await iam.send(new CreateRoleCommand({ RoleName: 'managed', AssumeRolePolicyDocument: trust }))
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'managed', PolicyArn: arn }))
    const listed = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'managed' }))
    expect(listed.AttachedPolicies).toEqual([{ PolicyArn: arn, PolicyName: 'AWSLambdaBasicExecutionRole' }])
    expect((await failure(iam.send(new DeleteRoleCommand({ RoleName: 'managed' })))).name).toBe(
      'DeleteConflictException'
    )
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'managed', PolicyArn: arn }))
    await iam.send(new DeleteRoleCommand({ RoleName: 'managed' }))
    expect(emu.cloud.shared.roles.has('managed')).toBe(false)
  })
})

describe('STS', () => {
  test('GetCallerIdentity returns the configured account and the caller access key', async () => {
    const sts = new STSClient(sdkConfig(emu, { credentials: { accessKeyId: 'AKIAWHOAMI', secretAccessKey: 's' } }))
    const out = await sts.send(new GetCallerIdentityCommand({}))
    expect(out).toMatchObject({ Account: '210987654321', UserId: 'AKIAWHOAMI' })
    expect(out.Arn).toMatch(/^arn:aws:iam::210987654321:/)
    sts.destroy()
  })
})
