import { createHash } from 'node:crypto'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  InvokeCommand,
  LambdaClient,
  ListTagsCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput
} from '@aws-sdk/client-lambda'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { strToU8, zipSync } from 'fflate'
import { startEmulator, type Emulator } from '../emulator/server.js'

const REGION = 'us-east-1'
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
let emu: Emulator
let lambda: LambdaClient
let logs: CloudWatchLogsClient
let roleArn = ''

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }

function zip(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])))
}

const ECHO = zip({
  'index.mjs': `export const handler = async (event) => { console.log('event', JSON.stringify(event)); if (event.fail) throw new Error('boom: ' + event.fail); return { echo: event, greeting: process.env.GREETING ?? null } }`
})

async function createRole(name: string): Promise<string> {
  const iam = new IAMClient({ endpoint: emu.endpoint, region: REGION, credentials })
  const out = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }))
  return out.Role?.Arn ?? ''
}

function fnInput(name: string, extra: Partial<CreateFunctionCommandInput> = {}): CreateFunctionCommandInput {
  return {
    FunctionName: name,
    Runtime: 'nodejs22.x',
    Role: roleArn,
    Handler: 'index.handler',
    Code: { ZipFile: ECHO },
    Timeout: 10,
    ...extra
  }
}

async function createActive(name: string, extra: Partial<CreateFunctionCommandInput> = {}): Promise<void> {
  await lambda.send(new CreateFunctionCommand(fnInput(name, extra)))
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name })
}

async function invoke(name: string, payload: unknown): Promise<{ error?: string; body: unknown }> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: JSON.stringify(payload) }))
  return { error: out.FunctionError, body: JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8')) }
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}

async function logMessages(name: string, filterPattern?: string): Promise<string[]> {
  const out = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${name}`, filterPattern }))
  return (out.events ?? []).map((e) => e.message ?? '')
}

beforeAll(async () => {
  emu = await startEmulator({ simulation: { functionPendingMs: 300 } })
  lambda = new LambdaClient({ endpoint: emu.endpoint, region: REGION, credentials, maxAttempts: 1 })
  logs = new CloudWatchLogsClient({ endpoint: emu.endpoint, region: REGION, credentials })
  roleArn = await createRole('fn-role')
})

afterAll(async () => {
  await emu.waitIdle()
  await emu.stop()
})

afterEach(() => {
  emu.setFaults({ throttleRate: 0, rolePropagationSeconds: 0 })
})

describe('Lambda functions', () => {
  test('a new function is Pending, then Active, with the zip SHA-256 as CodeSha256', async () => {
    const created = await lambda.send(new CreateFunctionCommand(fnInput('pending-fn')))
    expect(created.$metadata.httpStatusCode).toBe(201)
    expect(created.State).toBe('Pending')
    expect(created.CodeSha256).toBe(createHash('sha256').update(ECHO).digest('base64'))
    expect(created.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${emu.accountId}:function:pending-fn`)
    const early = await failure(lambda.send(new InvokeCommand({ FunctionName: 'pending-fn', Payload: '{}' })))
    expect([early.name, early.status]).toEqual(['ResourceConflictException', 409])
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'pending-fn' })
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'pending-fn' }))
    expect([config.State, config.LastUpdateStatus, config.Runtime, config.Handler]).toEqual([
      'Active',
      'Successful',
      'nodejs22.x',
      'index.handler'
    ])
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: config.FunctionArn }))
    expect(got.Configuration?.FunctionName).toBe('pending-fn')
  })

  test('creating a function that exists fails with ResourceConflictException', async () => {
    await lambda.send(new CreateFunctionCommand(fnInput('twice-fn')))
    const err = await failure(lambda.send(new CreateFunctionCommand(fnInput('twice-fn'))))
    expect([err.name, err.status]).toEqual(['ResourceConflictException', 409])
  })

  test('nodejs20.x can no longer be used to create a function', async () => {
    const err = await failure(
      lambda.send(new CreateFunctionCommand(fnInput('old-runtime-fn', { Runtime: 'nodejs20.x' })))
    )
    expect(err.name).toBe('InvalidParameterValueException')
    expect(err.message).toContain('nodejs20.x is no longer supported')
  })

  test('an unknown role, or a role younger than the propagation delay, cannot be assumed by Lambda', async () => {
    const unknown = await failure(
      lambda.send(
        new CreateFunctionCommand(fnInput('no-role-fn', { Role: `arn:aws:iam::${emu.accountId}:role/missing` }))
      )
    )
    expect(unknown.message).toBe('The role defined for the function cannot be assumed by Lambda.')
    emu.setFaults({ rolePropagationSeconds: 30 })
    const fresh = await createRole('fresh-role')
    const young = await failure(lambda.send(new CreateFunctionCommand(fnInput('young-role-fn', { Role: fresh }))))
    expect([young.name, young.message]).toEqual([
      'InvalidParameterValueException',
      'The role defined for the function cannot be assumed by Lambda.'
    ])
    const role = emu.cloud.shared.roles.get('fresh-role')
    if (role) role.createdAt -= 31_000
    const ok = await lambda.send(new CreateFunctionCommand(fnInput('young-role-fn', { Role: fresh })))
    expect(ok.FunctionName).toBe('young-role-fn')
  })

  test('reserved environment variables such as AWS_REGION cannot be set', async () => {
    const err = await failure(
      lambda.send(
        new CreateFunctionCommand(
          fnInput('reserved-env-fn', { Environment: { Variables: { AWS_REGION: 'eu-west-1' } } })
        )
      )
    )
    expect(err.name).toBe('InvalidParameterValueException')
    expect(err.message).toContain('Reserved keys used in this request: AWS_REGION')
  })

  test('a second configuration update while one is in progress fails with ResourceConflictException', async () => {
    await createActive('update-fn')
    const first = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'update-fn',
        Environment: { Variables: { GREETING: 'hello' } },
        MemorySize: 256
      })
    )
    expect(first.LastUpdateStatus).toBe('InProgress')
    const second = await failure(
      lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'update-fn', Timeout: 20 }))
    )
    expect(second.name).toBe('ResourceConflictException')
    expect(second.message).toContain('An update is in progress for resource: arn:aws:lambda:us-east-1:')
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'update-fn' })
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'update-fn' }))
    expect([config.LastUpdateStatus, config.MemorySize, config.Environment?.Variables]).toEqual([
      'Successful',
      256,
      { GREETING: 'hello' }
    ])
    expect((await invoke('update-fn', { n: 1 })).body).toEqual({ echo: { n: 1 }, greeting: 'hello' })
  })

  test('UpdateFunctionCode changes CodeSha256 and invocations run the new code once the update is done', async () => {
    await createActive('code-fn')
    const next = zip({ 'index.mjs': 'export const handler = async () => "v2"' })
    const out = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'code-fn', ZipFile: next }))
    expect(out.CodeSha256).toBe(createHash('sha256').update(next).digest('base64'))
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'code-fn' })
    expect((await invoke('code-fn', {})).body).toBe('v2')
  })

  test('a function that is deleted is no longer found', async () => {
    await lambda.send(new CreateFunctionCommand(fnInput('delete-fn')))
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'delete-fn' }))
    const err = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'delete-fn' })))
    expect([err.name, err.status]).toEqual(['ResourceNotFoundException', 404])
  })

  test('tags set on a function are listed', async () => {
    const created = await lambda.send(new CreateFunctionCommand(fnInput('tag-fn', { Tags: { project: 'prj-demo' } })))
    await lambda.send(new TagResourceCommand({ Resource: created.FunctionArn, Tags: { stack: 'st' } }))
    expect((await lambda.send(new ListTagsCommand({ Resource: created.FunctionArn }))).Tags).toEqual({
      project: 'prj-demo',
      stack: 'st'
    })
  })

  test('injected throttling surfaces as TooManyRequestsException with status 429', async () => {
    emu.setFaults({ throttleRate: 1 })
    const err = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'tag-fn' })))
    expect([err.name, err.status]).toEqual(['TooManyRequestsException', 429])
  })
})

describe('Lambda permissions', () => {
  test('AddPermission adds a statement that GetPolicy returns, a duplicate sid conflicts, RemovePermission removes it', async () => {
    await lambda.send(new CreateFunctionCommand(fnInput('perm-fn')))
    const none = await failure(lambda.send(new GetPolicyCommand({ FunctionName: 'perm-fn' })))
    expect(none.name).toBe('ResourceNotFoundException')
    const ruleArn = `arn:aws:events:${REGION}:${emu.accountId}:rule/r1`
    const added = await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-fn',
        StatementId: 'events',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: ruleArn
      })
    )
    expect(JSON.parse(added.Statement ?? '{}')).toMatchObject({
      Sid: 'events',
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnLike: { 'AWS:SourceArn': ruleArn } }
    })
    const dup = await failure(
      lambda.send(
        new AddPermissionCommand({
          FunctionName: 'perm-fn',
          StatementId: 'events',
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com'
        })
      )
    )
    expect([dup.name, dup.status]).toEqual(['ResourceConflictException', 409])
    const policy = JSON.parse(
      (await lambda.send(new GetPolicyCommand({ FunctionName: 'perm-fn' }))).Policy ?? '{}'
    ) as { Statement: { Sid: string }[] }
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['events'])
    expect(
      emu.cloud.shared.functions?.allows(
        `arn:aws:lambda:${REGION}:${emu.accountId}:function:perm-fn`,
        'events.amazonaws.com',
        ruleArn
      )
    ).toBe(true)
    expect(
      emu.cloud.shared.functions?.allows(
        `arn:aws:lambda:${REGION}:${emu.accountId}:function:perm-fn`,
        'events.amazonaws.com',
        `${ruleArn}-other`
      )
    ).toBe(false)
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-fn', StatementId: 'events' }))
    expect(
      (await failure(lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-fn', StatementId: 'events' })))).name
    ).toBe('ResourceNotFoundException')
  })
})

describe('Lambda invocation', () => {
  beforeAll(async () => {
    await createActive('echo-fn', { Environment: { Variables: { GREETING: 'hi' } } })
  })

  test('a RequestResponse invocation runs the uploaded ESM handler with the function environment', async () => {
    expect(await invoke('echo-fn', { a: 1 })).toEqual({ error: undefined, body: { echo: { a: 1 }, greeting: 'hi' } })
  })

  test('a handler error comes back as FunctionError Unhandled with its message', async () => {
    const out = await invoke('echo-fn', { fail: 'bad input' })
    expect(out.error).toBe('Unhandled')
    expect(out.body).toMatchObject({ errorType: 'Error', errorMessage: 'boom: bad input' })
  })

  test('a CommonJS handler in a .js file runs too', async () => {
    await createActive('cjs-fn', {
      Code: { ZipFile: zip({ 'src/app.js': 'exports.main = async (e) => ({ cjs: true, n: e.n })' }) },
      Handler: 'src/app.main'
    })
    expect((await invoke('cjs-fn', { n: 3 })).body).toEqual({ cjs: true, n: 3 })
  })

  test('a missing handler export fails as Runtime.HandlerNotFound', async () => {
    await createActive('nohandler-fn', { Handler: 'index.nope' })
    const out = await invoke('nohandler-fn', {})
    expect(out.error).toBe('Unhandled')
    expect(out.body).toMatchObject({ errorType: 'Runtime.HandlerNotFound' })
  })

  test('a handler that runs longer than the timeout is stopped', async () => {
    await createActive('slow-fn', {
      Code: { ZipFile: zip({ 'index.mjs': 'export const handler = () => new Promise((r) => setTimeout(r, 5000))' }) },
      Timeout: 1
    })
    const out = await invoke('slow-fn', {})
    expect(out.error).toBe('Unhandled')
    expect(JSON.stringify(out.body)).toContain('Task timed out after 1.00 seconds')
  })

  test('what the handler logs, with START, END and REPORT lines, lands in /aws/lambda/<name>', async () => {
    await invoke('echo-fn', { logged: 'marker-123' })
    const lines = await logMessages('echo-fn')
    const marker = lines.find((l) => l.includes('marker-123'))
    expect(marker).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\tevent \{"logged":"marker-123"\}$/)
    expect(lines.some((l) => l.startsWith('START RequestId: '))).toBe(true)
    expect(lines.some((l) => l.startsWith('REPORT RequestId: '))).toBe(true)
  })

  test('raw stdout output becomes one log event per line', async () => {
    const code =
      'export const handler = async () => { process.stdout.write(\'{"line":1}\\n{"line":2}\\n\'); return \'ok\' }'
    await createActive('stdout-fn', { Code: { ZipFile: zip({ 'index.mjs': code }) } })
    await invoke('stdout-fn', {})
    expect(await logMessages('stdout-fn', '"line"')).toEqual(['{"line":1}', '{"line":2}'])
  })

  test('warm workers make a hundred invocations fast', async () => {
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => invoke('echo-fn', { i })))
    expect(results.map((r) => (r.body as { echo: { i: number } }).echo.i)).toEqual(
      Array.from({ length: 100 }, (_, i) => i)
    )
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  test('an Event invocation is accepted with 202 and a failing one is retried twice', async () => {
    await createActive('async-fn', {
      Code: {
        ZipFile: zip({
          'index.mjs': "export const handler = async (e) => { console.log('attempt', e.id); throw new Error('always') }"
        })
      }
    })
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'async-fn', InvocationType: 'Event', Payload: JSON.stringify({ id: 'evt-1' }) })
    )
    expect(out.StatusCode).toBe(202)
    await emu.waitIdle()
    expect((await logMessages('async-fn', '"attempt evt-1"')).length).toBe(3)
    const dumped = (emu.state().lambda as { FunctionName: string; invocations: number; errors: number }[]).find(
      (f) => f.FunctionName === 'async-fn'
    )
    expect([dumped?.invocations, dumped?.errors]).toEqual([3, 3])
  })

  test('the function calls AWS through the emulator with credentials that name it', async () => {
    const code =
      "import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'\nexport const handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Account"
    await createActive('caller-fn', { Code: { ZipFile: zip({ 'index.mjs': code }) } })
    expect((await invoke('caller-fn', {})).body).toBe(emu.accountId)
    const call = emu.calls().find((c) => c.service === 'sts' && c.operation === 'GetCallerIdentity')
    expect(call?.caller).toBe('lambda-caller-fn')
  })
})
