/**
 * End to end, images built from source: the bundled action runs with a stand-in `docker` first on
 * PATH that records its argument vectors and, for `buildx build --push`, registers the image through
 * ECR's own PutImage API as a registry push would. The cases run in order: a first deploy builds
 * `web` once for its instance's platform, pushes it to `<project>/web` and runs it by digest; a re-run
 * builds nothing and writes nothing; a change inside the context rebuilds and rolls web only; a change
 * outside it builds nothing; plan says what it would build; a failing Dockerfile stops the step naming
 * web, quoting the build, with nothing of the stack changed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'
import type { StackScope } from '../src/names.js'
import {
  FAST_SIMULATION,
  action,
  awsClients,
  destroyAws,
  operations,
  stackView,
  until,
  writesOf,
  type Aws,
  type Run
} from './helpers/e2e.js'
import { buildxStandIn, type BuildxStandIn } from './helpers/buildx-stand-in.js'

const REGION = 'us-east-1'
const SCOPE: StackScope = { project: 'prj-build', stack: 'st-web', region: REGION }
const COMPOSE = `services:
  web:
    build:
      context: ./app
      args:
        GREETING: hi
    deploy:
      replicas: 2
  cache:
    image: redis:7
`

let emulator: Emulator
let control: EmulatorClient
let aws: Aws
let ecr: ECRClient
let docker: BuildxStandIn
const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-builds-'))
const work = path.join(dir, 'repo')

function run(inputs: Record<string, string> = {}, expectCode = 0): Promise<Run> {
  return action(
    {
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: SCOPE.project, stack: SCOPE.stack, wait: 'true', 'wait-timeout': '120', ...inputs },
      env: { ...docker.env, GITHUB_SHA: 'c0ffee1234567890c0ffee1234567890c0ffee12' }
    },
    expectCode
  )
}

/** The images each running web instance's container was started from. */
async function webImages(): Promise<string[]> {
  const view = await stackView(aws, SCOPE)
  const ids = view.instances.filter((i) => i.service === 'web' && i.state === 'running').map((i) => i.id)
  const specs = await Promise.all(ids.map((id) => control.container(id)))
  return specs.map((c) => (c as unknown as { spec?: { image: string } }).spec?.image ?? '').sort()
}

beforeAll(async () => {
  emulator = await startEmulator({ simulation: FAST_SIMULATION })
  control = new EmulatorClient(emulator.endpoint)
  aws = awsClients(emulator, REGION)
  ecr = new ECRClient(sdkConfig(emulator, { region: REGION }))
  mkdirSync(path.join(work, 'app'), { recursive: true })
  writeFileSync(path.join(work, 'compose.yaml'), COMPOSE)
  writeFileSync(path.join(work, 'README.md'), '# shop\n')
  writeFileSync(
    path.join(work, 'app', 'Dockerfile'),
    'FROM nginx:1.27\nARG GREETING\nCOPY index.html /usr/share/nginx/html/\n'
  )
  writeFileSync(path.join(work, 'app', 'index.html'), '<h1>hello</h1>\n')
  docker = buildxStandIn(dir)
})

afterAll(async () => {
  ecr.destroy()
  destroyAws(aws)
  await emulator.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('images built from source', () => {
  let digest = ''
  let repositoryUri = ''

  test('a first deploy builds web once, for its platform, with its context and argument, pushes it to <project>/web and runs it by digest', async () => {
    const result = await run()
    const builds = docker.builds()
    expect(builds).toHaveLength(1)
    const build = builds[0]
    expect(build?.context).toBe(path.join(work, 'app'))
    expect(build?.args).toEqual(['GREETING=hi'])
    expect(build?.platform).toBe('linux/amd64')
    const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prj-build/web'] }))
    repositoryUri = repos.repositories?.[0]?.repositoryUri ?? ''
    expect(repositoryUri).toMatch(/^\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com\/prj-build\/web$/)
    expect(repos.repositories?.[0]?.imageScanningConfiguration?.scanOnPush).toBe(true)
    expect(build?.tags).toEqual([
      expect.stringMatching(new RegExp(`^${repositoryUri}:build-[0-9a-f]{20}$`)),
      `${repositoryUri}:git-c0ffee123456`
    ])
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'prj-build/web' }))
    expect(images.imageDetails).toHaveLength(1)
    digest = images.imageDetails?.[0]?.imageDigest ?? ''
    expect(images.imageDetails?.[0]?.imageTags?.sort()).toEqual(
      [build?.tags[0]?.split(':').pop(), 'git-c0ffee123456', 'stack-st-web'].sort()
    )
    const running = await until(
      async () => {
        const now = await webImages()
        return now.length === 2 && now.every((i) => i.endsWith(digest)) ? now : undefined
      },
      async () => JSON.stringify(await webImages()),
      60_000
    )
    expect(running).toEqual([`${repositoryUri}@${digest}`, `${repositoryUri}@${digest}`])
    // logged in with the registry's token, on stdin; the password is nowhere in the log
    const login = docker.calls().find((c) => c.login)?.login
    expect(login).toEqual({ user: 'AWS', host: repositoryUri.split('/')[0], passwordFromStdin: true })
    expect(result.summary).toContain('### Images')
    expect(result.summary).toContain(digest)
  })

  test('a re-run with nothing changed builds nothing and makes no write', async () => {
    const before = docker.builds().length
    const result = await run()
    expect(docker.builds()).toHaveLength(before)
    expect(operations(writesOf(result.calls))).toEqual([])
  })

  test('a change outside the context builds nothing and writes nothing', async () => {
    writeFileSync(path.join(work, 'README.md'), '# shop, with more words\n')
    const before = docker.builds().length
    const result = await run()
    expect(docker.builds()).toHaveLength(before)
    expect(operations(writesOf(result.calls))).toEqual([])
  })

  test('plan says web would build because its context changed, and builds nothing', async () => {
    writeFileSync(path.join(work, 'app', 'index.html'), '<h1>hello again</h1>\n')
    const before = docker.builds().length
    const result = await run({ command: 'plan' })
    expect(docker.builds()).toHaveLength(before)
    expect(result.stdout).toContain('build web: context changed (linux/amd64)')
    expect(operations(writesOf(result.calls))).toEqual([])
  })

  test('a change inside the context builds once and rolls web only', async () => {
    const before = docker.builds().length
    const result = await run()
    expect(docker.builds()).toHaveLength(before + 1)
    const refreshes = result.calls.filter((c) => c.operation === 'StartInstanceRefresh')
    expect(refreshes.length).toBeGreaterThan(0)
    expect(operations(writesOf(result.calls))).not.toContain('CreateRepository')
    const templates = writesOf(result.calls).filter((c) => c.operation === 'CreateLaunchTemplateVersion')
    expect(templates).toHaveLength(1)
    const view = await stackView(aws, SCOPE)
    const cache = view.launchTemplates.find((t) => t.name.includes('-cache'))
    expect(cache?.latestVersion).toBe(1)
    const newDigest = (
      await ecr.send(
        new DescribeImagesCommand({ repositoryName: 'prj-build/web', imageIds: [{ imageTag: 'stack-st-web' }] })
      )
    ).imageDetails?.[0]?.imageDigest
    expect(newDigest).not.toBe(digest)
  })

  test('a failing Dockerfile stops the step naming web and quoting the build, and nothing of the stack changes', async () => {
    writeFileSync(path.join(work, 'app', 'Dockerfile'), 'FROM nginx:1.27\nRUN false\n')
    const result = await run({}, 1)
    expect(result.stdout).toContain('build of web failed')
    expect(result.stdout).toContain('did not complete successfully: exit code: 1')
    const stackWrites = operations(writesOf(result.calls)).filter((op) =>
      /LaunchTemplate|AutoScaling|InstanceRefresh|ResourceRecordSets|SecurityGroup|Parameter/.test(op)
    )
    expect(stackWrites).toEqual([])
  })
})
