/**
 * The builds, without AWS: what a build's tag depends on (git's view of the context, the Dockerfile,
 * arguments and settings), which images a compose file makes and where they go, the platform check,
 * why a plan says an image is built, the buildx argument vector, and the repositories' lifecycle policy.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ComposeModel, ServiceBuild } from '../src/compose/model.js'
import { buildParts, buildTag, contextFiles } from '../src/build/inputs.js'
import { buildReason, planBuilds, platformProblems, type ImageBuild } from '../src/build/plan.js'
import { buildxArgs } from '../src/build/run.js'
import { lifecyclePolicy } from '../src/resources/ecr-repository.js'
import { svc } from './helpers/deploy-fixtures.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function repo(files: Record<string, string>, git = true): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-build-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    writeFileSync(path.join(dir, name), text)
  }
  if (git) execFileSync('git', ['init', '-q', dir])
  return dir
}

function build(context: string, over: Partial<ServiceBuild> = {}): ServiceBuild {
  return {
    context,
    dockerfile: path.join(context, 'Dockerfile'),
    args: {},
    labels: {},
    platforms: [],
    secrets: [],
    ssh: false,
    noCache: false,
    pull: false,
    location: { file: 'compose.yaml', line: 4, column: 5 },
    ...over
  }
}

describe("a build's tag", () => {
  test("follows git's view of the context: an ignored file changes nothing, a tracked one changes the context part", () => {
    const dir = repo({ 'app/Dockerfile': 'FROM nginx\n', 'app/index.html': 'a', '.gitignore': 'app/*.log\n' })
    const context = path.join(dir, 'app')
    expect(contextFiles(context)).toEqual(['Dockerfile', 'index.html'])
    const before = buildParts(build(context), 'linux/amd64')
    writeFileSync(path.join(context, 'debug.log'), 'noise')
    expect(buildParts(build(context), 'linux/amd64')).toEqual(before)
    writeFileSync(path.join(context, 'index.html'), 'b')
    const after = buildParts(build(context), 'linux/amd64')
    expect(after.context).not.toBe(before.context)
    expect([after.dockerfile, after.args, after.settings]).toEqual([before.dockerfile, before.args, before.settings])
    expect(buildTag(after)).toMatch(/^build-[0-9a-f]{20}$/)
    expect(buildTag(after)).not.toBe(buildTag(before))
  })

  test('outside a git work tree every file of the directory counts; arguments, target and platform each change a part', () => {
    const dir = repo({ Dockerfile: 'FROM nginx\n', 'a.txt': 'a' }, false)
    const base = buildParts(build(dir), 'linux/amd64')
    expect(contextFiles(dir)).toEqual(['Dockerfile', 'a.txt'])
    expect(buildParts(build(dir, { args: { GREETING: 'hi' } }), 'linux/amd64').args).not.toBe(base.args)
    expect(buildParts(build(dir, { target: 'prod' }), 'linux/amd64').settings).not.toBe(base.settings)
    expect(buildParts(build(dir), 'linux/arm64').settings).not.toBe(base.settings)
    expect(buildParts(build(dir, { dockerfileInline: 'FROM alpine\n' }), 'linux/amd64').dockerfile).not.toBe(
      base.dockerfile
    )
  })
})

describe('the images a compose file makes', () => {
  const parts = { context: 'c', dockerfile: 'd', args: 'a', settings: 's' }

  test('services with the same build share one image in the first one’s repository; an ECR image beside build is pushed there', () => {
    const dir = repo({ 'app/Dockerfile': 'FROM nginx\n' })
    const b = build(path.join(dir, 'app'))
    const model: ComposeModel = {
      services: [
        svc('api', { image: '', build: b }),
        svc('worker', { image: '', build: b }),
        svc('web', { image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:2.1', build: b, size: 't4g.small' })
      ],
      files: ['compose.yaml']
    }
    const builds = planBuilds({
      scope: { project: 'prj' },
      model,
      instanceType: 't3.micro',
      commit: 'abcdef1234567890',
      parts: () => parts
    })
    expect(builds.map((x) => [x.services, x.repository, x.managed, x.platform, x.extraTags])).toEqual([
      [['api', 'worker'], 'prj/api', true, 'linux/amd64', ['git-abcdef123456']],
      [['web'], 'shop/web', false, 'linux/arm64', ['git-abcdef123456', '2.1']]
    ])
    expect(builds[1]?.host).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com')
  })

  test('platforms that leave out the instance type’s platform are an error naming file, line and key', () => {
    const model: ComposeModel = {
      services: [svc('web', { image: '', build: build('/x', { platforms: ['linux/arm64'] }) })],
      files: ['compose.yaml']
    }
    expect(platformProblems(model, 't3.micro')).toEqual([
      'compose.yaml:4: services.web.build.platforms: linux/arm64 leaves out linux/amd64, the platform of its instance type t3.micro'
    ])
    expect(platformProblems(model, 'm7g.large')).toEqual([])
  })

  test('a plan says new, or which inputs changed', () => {
    const b = { parts } as ImageBuild
    expect(buildReason(b, undefined)).toBe('new')
    expect(buildReason(b, { ...parts, context: 'x', args: 'y' })).toBe('context changed, args changed')
    expect(buildReason(b, parts)).toBe('not in the registry')
  })
})

describe('the buildx command', () => {
  const image = (over: Partial<ServiceBuild>): ImageBuild => ({
    services: ['web'],
    repository: 'prj/web',
    managed: true,
    tag: 'build-0123456789abcdef0123',
    extraTags: ['git-abcdef123456'],
    platform: 'linux/amd64',
    build: build('/repo/app', over),
    parts: { context: '', dockerfile: '', args: '', settings: '' }
  })

  test('names secrets by id and source only, passes an inline Dockerfile on stdin, and pushes both tags', () => {
    const args = buildxArgs(
      image({
        dockerfile: undefined,
        dockerfileInline: 'FROM nginx\n',
        args: { B: '2', A: '1' },
        secrets: [
          { id: 'npm', env: 'NPM_TOKEN' },
          { id: 'key', file: '/home/runner/key.pem' }
        ],
        ssh: true,
        target: 'prod',
        noCache: true,
        pull: true
      }),
      'reg.example',
      '/tmp/meta.json',
      {}
    )
    expect(args).toEqual([
      'buildx',
      'build',
      '--push',
      '--provenance=false',
      '--platform',
      'linux/amd64',
      '--tag',
      'reg.example/prj/web:build-0123456789abcdef0123',
      '--tag',
      'reg.example/prj/web:git-abcdef123456',
      '--file',
      '-',
      '--build-arg',
      'A=1',
      '--build-arg',
      'B=2',
      '--target',
      'prod',
      '--secret',
      'id=npm,env=NPM_TOKEN',
      '--secret',
      'id=key,src=/home/runner/key.pem',
      '--ssh',
      'default',
      '--no-cache',
      '--pull',
      '--metadata-file',
      '/tmp/meta.json',
      '/repo/app'
    ])
  })

  test('uses the GitHub Actions cache only where the runner provides it, scoped by repository', () => {
    const without = buildxArgs(image({}), 'reg', '/m', {})
    expect(without.some((a) => a.startsWith('type=gha'))).toBe(false)
    const withCache = buildxArgs(image({}), 'reg', '/m', {
      ACTIONS_RUNTIME_TOKEN: 't',
      ACTIONS_CACHE_URL: 'https://cache'
    })
    expect(withCache).toEqual(
      expect.arrayContaining([
        '--cache-from',
        'type=gha,scope=prj/web',
        '--cache-to',
        'type=gha,mode=max,scope=prj/web'
      ])
    )
  })
})

test("the repositories' lifecycle policy keeps every image a stack runs first, then the last N", () => {
  const policy = JSON.parse(lifecyclePolicy(7)) as {
    rules: Array<{
      rulePriority: number
      selection: { tagStatus: string; tagPrefixList?: string[]; countNumber: number }
    }>
  }
  expect(
    policy.rules.map((r) => [r.rulePriority, r.selection.tagStatus, r.selection.tagPrefixList, r.selection.countNumber])
  ).toEqual([
    [1, 'tagged', ['stack-'], 10000],
    [2, 'any', undefined, 7]
  ])
})
