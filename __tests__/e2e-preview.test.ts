/**
 * End to end, pull-request previews: the bundled action runs on `pull_request` events, as GitHub
 * runs it (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH with the event payload, GITHUB_API_URL), against an
 * in-process emulator and a local stand-in for the GitHub API. The cases run in order: opened
 * deploys stack pr-<N> and comments, synchronize updates that comment, labeled does nothing, a
 * fork is refused, closed destroys everything of pr-<N> and leaves the one comment saying so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { commentMarker } from '../src/github.js'
import { asgName, recordName, TAGS, type StackScope } from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  operations,
  projectView,
  stackView,
  workspace,
  writesOf,
  type Aws,
  type Run
} from './helpers/e2e.js'
import { startFakeGitHub, type FakeGitHub } from './helpers/github-api.js'

const REGION = 'us-east-1'
const REPO = 'octo-org/shop'
const SEED = readFileSync(fileURLToPath(new URL('../examples/wordpress/compose.yaml', import.meta.url)), 'utf8')
const PROJECT = 'prj-preview'
const PR = 7
const STACK: StackScope = { project: PROJECT, stack: `pr-${PR}`, region: REGION }
const TOKEN = 'ghs_previewTestToken'

let emulator: Emulator
let aws: Aws
let api: FakeGitHub
const work = workspace({ 'compose.yaml': SEED })
const events = mkdtempSync(path.join(tmpdir(), 'hyperform-events-'))

/** A pull_request event payload as GitHub sends it (the fields the action reads, and their neighbours). */
function payload(args: { action: string; number: number; head?: string }): Record<string, unknown> {
  const head = args.head ?? REPO
  const repo = (fullName: string) => ({
    id: fullName.length,
    name: fullName.split('/')[1],
    full_name: fullName,
    private: false,
    fork: fullName !== REPO,
    owner: { login: fullName.split('/')[0] }
  })
  return {
    action: args.action,
    number: args.number,
    pull_request: {
      number: args.number,
      state: args.action === 'closed' ? 'closed' : 'open',
      title: 'Preview me',
      merged: false,
      user: { login: head.split('/')[0] },
      head: { label: `${head.split('/')[0]}:feature`, ref: 'feature', sha: 'a'.repeat(40), repo: repo(head) },
      base: { label: 'octo-org:main', ref: 'main', sha: 'b'.repeat(40), repo: repo(REPO) }
    },
    ...(args.action === 'labeled' ? { label: { name: 'preview' } } : {}),
    repository: repo(REPO),
    sender: { login: head.split('/')[0] }
  }
}

function event(args: { action: string; number: number; head?: string }): Record<string, string> {
  const file = path.join(events, `${args.number}-${args.action}-${args.head ?? 'own'}.json`.replace(/\//g, '_'))
  writeFileSync(file, JSON.stringify(payload(args)))
  return {
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: file,
    GITHUB_API_URL: api.url,
    GITHUB_REPOSITORY: REPO
  }
}

function run(
  args: { action: string; number?: number; head?: string; inputs?: Record<string, string> },
  expectCode = 0
): Promise<Run> {
  const inputs = {
    project: PROJECT,
    region: REGION,
    'compose-file': 'compose.yaml',
    'github-token': TOKEN,
    wait: 'true',
    'wait-timeout': '60',
    ...args.inputs
  }
  const env = event({ action: args.action, number: args.number ?? PR, ...(args.head ? { head: args.head } : {}) })
  return action({ emulator, region: REGION, workspace: work, inputs, env }, expectCode)
}

const commentsOn = (issue: number) => api.comments.filter((c) => c.issue === issue)

/** Instances of the stack in any state but terminated. */
async function liveInstances(scope: StackScope): Promise<string[]> {
  const out = await aws.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${TAGS.project}`, Values: [scope.project] },
        { Name: `tag:${TAGS.stack}`, Values: [scope.stack] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }
      ]
    })
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => `${i.InstanceId} ${i.State?.Name}`)
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }
  })
  aws = awsClients(emulator, REGION)
  api = await startFakeGitHub()
})

afterAll(async () => {
  destroyAws(aws)
  await api.close()
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
  rmSync(events, { recursive: true, force: true })
})

describe('a pull request preview', () => {
  let zoneId = ''

  test('opened deploys stack pr-<N> and creates one comment listing services, DNS names, counts and the last change', async () => {
    const result = await run({ action: 'opened' })
    expect(result.outputs.stack).toBe(STACK.stack)
    const view = await stackView(aws, STACK)
    expect(view.instances.filter((i) => i.state === 'running')).toHaveLength(3)
    zoneId = result.outputs['hosted-zone-id'] ?? ''
    const records = await aRecords(aws, zoneId)
    expect(records.get(recordName(STACK, 'wordpress'))).toHaveLength(2)

    const comments = commentsOn(PR)
    expect(comments).toHaveLength(1)
    const body = comments[0]?.body ?? ''
    expect(body.startsWith('### Preview stack')).toBe(true)
    expect(body.trimEnd().endsWith(commentMarker(PROJECT, STACK.stack))).toBe(true)
    expect(body).toContain('### Preview stack `pr-7` (prj-preview, us-east-1)')
    expect(body).toContain('| db | `db.pr-7.prj-preview.us-east-1.internal` | 1 | 0 | mysql:5.7 |')
    expect(body).toContain('| wordpress | `wordpress.pr-7.prj-preview.us-east-1.internal` | 1 | 1 | wordpress:latest |')
    expect(body).toMatch(/Last deploy [\d-]+ [\d:]+ UTC: \d+ changes: create /)
    expect(api.requests.map((r) => r.authorization)).toEqual(api.requests.map(() => `token ${TOKEN}`))
    // the token reaches the log only in the command that masks it
    expect(result.stdout.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`])
  })

  test('the action ran on the Node that action.yml names, as the user agent of its GitHub requests says', () => {
    expect(api.requests.length).toBeGreaterThan(0)
    for (const r of api.requests) expect(r.userAgent).toMatch(/ Node\.js\/24\b/)
  })

  test('synchronize redeploys and updates that same comment, still exactly one', async () => {
    writeFileSync(path.join(work, 'compose.yaml'), SEED.replace('replicas: 2', 'replicas: 3'))
    const id = commentsOn(PR)[0]?.id
    const posts = api.requests.filter((r) => r.method === 'POST').length
    const result = await run({ action: 'synchronize' })
    expect(operations(writesOf(result.calls))).toContain('UpdateAutoScalingGroup')
    const comments = commentsOn(PR)
    expect(comments.map((c) => c.id)).toEqual([id])
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(posts)
    expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)
    expect(comments[0]?.body).toContain(
      '| wordpress | `wordpress.pr-7.prj-preview.us-east-1.internal` | 2 | 1 | wordpress:latest |'
    )
    expect(comments[0]?.body).toContain(
      `1 changes: update auto-scaling-group ${asgName(STACK, 'wordpress', 'on-demand')}.`
    )
  })

  test('a labeled event does nothing: no AWS request, no comment request', async () => {
    const before = api.requests.length
    const result = await run({ action: 'labeled' })
    expect(result.calls).toEqual([])
    expect(api.requests).toHaveLength(before)
    expect(result.stdout).toContain('Nothing to do: pull request action "labeled" neither deploys nor destroys.')
  })

  test("a fork's pull request is refused with the reason and no AWS request unless allow-forks is true", async () => {
    const before = api.requests.length
    const refused = await run({ action: 'opened', number: 8, head: 'mallory/shop' }, 1)
    expect(refused.calls).toEqual([])
    expect(api.requests).toHaveLength(before)
    expect(refused.stdout).toContain('pull request #8 comes from a fork')
    expect(refused.stdout).toContain('set allow-forks: true to deploy it anyway')

    const allowed = await run({
      action: 'opened',
      number: 8,
      head: 'mallory/shop',
      inputs: { 'allow-forks': 'true', command: 'plan', 'github-token': '' }
    })
    expect(allowed.outputs.stack).toBe('pr-8')
    expect(allowed.calls.length).toBeGreaterThan(0)
    expect(operations(writesOf(allowed.calls))).toEqual([])
  })

  test('closed destroys everything of pr-<N>, the project DNS stack with it as the last stack, and leaves one comment saying so', async () => {
    const id = commentsOn(PR)[0]?.id
    const result = await run({ action: 'closed' })
    expect(JSON.parse(result.outputs.summary ?? '{}')).toMatchObject({ command: 'destroy', stack: STACK.stack })
    const gone = { zones: [], functions: [], rules: [], logGroups: [], role: false }
    const check = async (): Promise<void> => {
      const view = await stackView(aws, STACK)
      expect([[...view.groups.keys()], view.launchTemplates, view.securityGroups]).toEqual([[], [], []])
      expect(await liveInstances(STACK)).toEqual([])
      expect(await projectView(aws, STACK)).toEqual(gone)
      await expect(aRecords(aws, zoneId)).rejects.toThrow(/NoSuchHostedZone|No hosted zone/)
    }
    await check()
    await emulator.waitIdle()
    await check()

    const comments = commentsOn(PR)
    expect(comments.map((c) => c.id)).toEqual([id])
    expect(comments[0]?.body).toContain('### Preview stack `pr-7` destroyed')
    expect(comments[0]?.body).not.toContain('| wordpress |')
    expect(api.comments).toHaveLength(1)
  })
})
