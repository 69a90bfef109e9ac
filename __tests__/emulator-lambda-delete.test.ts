/**
 * Async invocations still queued for a worker when their function is deleted are dropped,
 * as in Lambda: they must not start fresh workers for a function that no longer exists.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  InvokeCommand,
  LambdaClient,
  waitUntilFunctionActiveV2
} from '@aws-sdk/client-lambda'
import { strToU8, zipSync } from 'fflate'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually } from '../emulator/testing.js'

const REGION = 'us-east-1'
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
// each run announces itself with one STS call, then stays busy for a while
const CODE = [
  "import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'",
  'export const handler = async () => {',
  '  await new STSClient({}).send(new GetCallerIdentityCommand({}))',
  '  await new Promise((resolve) => setTimeout(resolve, 1500))',
  "  return 'ok'",
  '}'
].join('\n')

let emu: Emulator

beforeAll(async () => {
  // an account concurrency of 2: at most two invocations run at once, the other eight wait for a worker
  emu = await startEmulator({ simulation: { lambdaConcurrency: 2 } })
})

afterAll(async () => {
  await emu.stop()
})

test('queued Event invocations of a deleted function are dropped, not run on new workers', async () => {
  const config = { endpoint: emu.endpoint, region: REGION, credentials }
  const role = await new IAMClient(config).send(
    new CreateRoleCommand({ RoleName: 'busy-role', AssumeRolePolicyDocument: TRUST })
  )
  const lambda = new LambdaClient({ ...config, maxAttempts: 1 })
  const zip = zipSync({ 'index.mjs': strToU8(CODE) })
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: 'busy-fn',
      Runtime: 'nodejs22.x',
      Role: role.Role?.Arn,
      Handler: 'index.handler',
      Code: { ZipFile: zip },
      Timeout: 10
    })
  )
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'busy-fn' })
  for (let i = 0; i < 10; i += 1) {
    await lambda.send(
      new InvokeCommand({ FunctionName: 'busy-fn', InvocationType: 'Event', Payload: JSON.stringify({ i }) })
    )
  }
  const runs = (): number =>
    emu.calls().filter((c) => c.caller === 'lambda-busy-fn' && c.operation === 'GetCallerIdentity').length
  await eventually(async () => (runs() > 0 ? true : undefined), 20_000)
  await lambda.send(new DeleteFunctionCommand({ FunctionName: 'busy-fn' }))
  await emu.waitIdle()
  // only the invocations already running on the function's (at most two, the account's concurrency) workers ran
  expect(runs()).toBeGreaterThanOrEqual(1)
  expect(runs()).toBeLessThanOrEqual(2)
  lambda.destroy()
})
