/**
 * Bad input stops the bundled action before any AWS call: it runs as GitHub runs it,
 * with AWS_ENDPOINT_URL pointing at a server that records every request it gets.
 */
import { runAction, workspaceWith } from '../emulator/github-runner.js'
import { startRecorder, type Recorder } from './helpers/recorder.js'

const TOO_MANY_SPOT = `services:
  web:
    image: nginx
    ports:
      - 8000:80
    deploy:
      replicas: 2
      preemptible: 3
`

let recorder: Recorder
beforeAll(async () => {
  recorder = await startRecorder()
})
afterAll(async () => recorder.close())
beforeEach(() => {
  recorder.requests.length = 0
})

async function run(
  inputs: Record<string, string>,
  files: Record<string, string> = { 'compose.yaml': 'services:\n  web:\n    image: nginx\n' }
) {
  const workspace = workspaceWith(files)
  return runAction({
    inputs: { project: 'prj-demo', region: 'us-east-1', ...inputs },
    workspace,
    env: { AWS_ENDPOINT_URL: recorder.endpoint }
  })
}

describe('the bundled action on invalid input', () => {
  it('rejects preemptible above replicas with a file:line message, an annotation and no request', async () => {
    const result = await run({}, { 'compose.yaml': TOO_MANY_SPOT })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('compose.yaml:8:20 services.web.deploy.preemptible: 3 is more than replicas (2)')
    expect(result.stdout).toMatch(
      /::error [^\n]*file=compose\.yaml,line=8,col=20::compose\.yaml:8:20 services\.web\.deploy\.preemptible/
    )
    expect(recorder.requests).toEqual([])
  })

  it('reports every bad input at once, naming each input and quoting its value, with no request', async () => {
    const result = await run({ 'dns-ttl': 'ten', command: 'apply', wait: 'yes', 'vpc-id': 'my-vpc' })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('Input "dns-ttl": "ten" is not a whole number from 0 to 172800')
    expect(result.stdout).toContain('Input "command": "apply" is not one of deploy, plan, destroy')
    expect(result.stdout).toContain('Input "wait": "yes" is not a boolean (use true or false)')
    expect(result.stdout).toContain('Input "vpc-id": "my-vpc" is not a VPC id such as vpc-0123456789abcdef0')
    expect(recorder.requests).toEqual([])
  })

  it('refuses a project name too long for the DNS updater function name, with no request', async () => {
    const result = await run({ project: 'p'.repeat(47) })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`project "${'p'.repeat(47)}" is 47 characters; the limit is 46`)
    expect(recorder.requests).toEqual([])
  })

  it('refuses a stack that is not a DNS label, with no request', async () => {
    const result = await run({ stack: 'Feature_X' })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('stack "Feature_X" must be a DNS label')
    expect(recorder.requests).toEqual([])
  })

  it('names the missing compose file and makes no request', async () => {
    const result = await run({ 'compose-file': 'deploy/missing.yaml' })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('deploy/missing.yaml')
    expect(recorder.requests).toEqual([])
  })

  it('fails without a project input and makes no request', async () => {
    const result = await run({ project: '' })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('Input "project": required and not set')
    expect(recorder.requests).toEqual([])
  })
})
