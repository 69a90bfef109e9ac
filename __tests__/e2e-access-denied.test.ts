/**
 * End to end: the bundled action run by a role that lacks a permission. IAM calls reach the
 * emulator through a small proxy (the SDK's AWS_ENDPOINT_URL_IAM) that answers the operations a
 * test names with AWS's AccessDenied, as IAM does; everything else passes through untouched.
 * The failed step's error, its annotation and the job summary name the missing IAM action and
 * point at docs/deployer-policy.json.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleName } from '../src/names.js'
import { action, workspace, writesOf } from './helpers/e2e.js'

const REGION = 'us-east-1'
const SCOPE = { project: 'prj-denied', stack: 'st-one', region: REGION }
const ROLE_ARN = `arn:aws:iam::123456789012:role/${roleName(SCOPE)}`
const SESSION = 'arn:aws:sts::123456789012:assumed-role/deployer/GitHubActions'
const COMPOSE = 'services:\n  web:\n    image: nginx:1.27\n'

let emulator: Emulator
let proxy: Server
/** IAM operation -> the message AWS's AccessDenied carries for it. */
const denied = new Map<string, string>()

function accessDenied(message: string): string {
  return `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${message}</Message></Error><RequestId>denied-1</RequestId></ErrorResponse>`
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }
  })
  const target = new URL(emulator.endpoint)
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const operation = new URLSearchParams(body.toString()).get('Action') ?? ''
      const message = denied.get(operation)
      if (message !== undefined) {
        res.writeHead(403, { 'content-type': 'text/xml' })
        res.end(accessDenied(message))
        return
      }
      const forward = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      forward.on('error', (err) => {
        res.writeHead(502)
        res.end(String(err))
      })
      forward.end(body)
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()))
  await emulator.stop()
})

/** An annotation property as the runner's workflow command carries it. */
const escaped = (value: string): string =>
  value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C')

const iamEndpoint = (): string => `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

function run(command: 'plan' | 'deploy') {
  const inputs = {
    project: SCOPE.project,
    stack: SCOPE.stack,
    region: REGION,
    command,
    wait: 'false',
    'compose-file': 'compose.yaml'
  }
  return action(
    {
      emulator,
      region: REGION,
      workspace: workspace({ 'compose.yaml': COMPOSE }),
      inputs,
      env: { AWS_ENDPOINT_URL_IAM: iamEndpoint() }
    },
    1
  )
}

describe('a role without a permission the action needs', () => {
  afterEach(() => denied.clear())

  it('fails a plan denied iam:GetRolePolicy with an annotation, error and job summary that name the action and resource and point at the policy', async () => {
    denied.set(
      'GetRolePolicy',
      `User: ${SESSION} is not authorized to perform: iam:GetRolePolicy on resource: ${ROLE_ARN} because no identity-based policy allows the iam:GetRolePolicy action`
    )
    const result = await run('plan')

    expect(writesOf(result.calls)).toEqual([])
    const annotation = result.stdout
      .split('\n')
      .find((l) => l.startsWith(`::error title=${escaped('Missing AWS permission: iam:GetRolePolicy')}::`))
    expect(annotation).toContain(`AWS denied iam:GetRolePolicy on ${ROLE_ARN} to ${SESSION}`)
    expect(annotation).toContain('statement DnsUpdaterRole of docs/deployer-policy.json allows it')
    // setFailed's error: what failed (AWS's own message), then the explanation.
    const failure = result.stdout.split('\n').find((l) => l.startsWith('::error::'))
    expect(failure).toContain('is not authorized to perform: iam:GetRolePolicy')
    expect(failure).toContain(`AWS denied iam:GetRolePolicy on ${ROLE_ARN}`)
    expect(result.summary).toContain('## AWS access denied')
    expect(result.summary).toContain(
      `| \`iam:GetRolePolicy\` | \`${ROLE_ARN}\` | GetRolePolicy | no identity-based policy allows the iam:GetRolePolicy action | \`DnsUpdaterRole\` |`
    )
    expect(result.summary).toContain('docs/deployer-policy.json')
  })

  it('fails a deploy denied iam:CreateRole, naming the action from the failed call when AWS names none', async () => {
    denied.set('CreateRole', 'Access denied')
    const result = await run('deploy')

    expect(result.calls.some((c) => c.operation === 'CreateRole')).toBe(false)
    const annotation = result.stdout
      .split('\n')
      .find((l) => l.startsWith(`::error title=${escaped('Missing AWS permission: iam:CreateRole')}::`))
    expect(annotation).toContain('AWS denied iam:CreateRole (CreateRole failed with AccessDenied)')
    expect(annotation).toContain('docs/deployer-policy.json')
    expect(result.summary).toContain('| `iam:CreateRole` | - | CreateRole | AccessDenied | `DnsUpdaterRole` |')
  })
})
