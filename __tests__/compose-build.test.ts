/**
 * Compose `build` through loadCompose: the short and long forms read into ServiceBuild with
 * absolute paths, every key checked at its file, line and key path, `image` optional next to a
 * build, and builds merged across files.
 */
import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ComposeCase, ComposeWorkspaces } from './helpers/compose-workspace.js'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import type { LoadResult, ServiceBuild, ServiceModel } from '../src/compose/model.js'

const spaces = new ComposeWorkspaces()
const outside: string[] = []
afterAll(() => {
  spaces.cleanup()
  for (const dir of outside) rmSync(dir, { recursive: true, force: true })
})

interface Loaded {
  result: LoadResult
  /** The workspace with its symlinks resolved, as the model's paths are. */
  root: string
  dir: string
}

async function load(c: ComposeCase & { setup?: (dir: string) => void }): Promise<Loaded> {
  const dir = spaces.workspace(c.files)
  c.setup?.(dir)
  const result = await loadCompose({ files: c.compose ?? ['compose.yaml'], workspace: dir, env: c.env ?? {} })
  return { result, root: realpathSync(dir), dir }
}

async function loaded(
  c: ComposeCase & { setup?: (dir: string) => void }
): Promise<{ web: ServiceModel; root: string }> {
  const { result, root } = await load(c)
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
  return { web: result.model.services.find((s) => s.name === 'web')!, root }
}

async function errors(c: ComposeCase & { setup?: (dir: string) => void }): Promise<string[]> {
  const { result } = await load(c)
  return result.ok ? [] : result.errors.map(formatDiagnostic)
}

async function warnings(c: ComposeCase): Promise<string[]> {
  return (await load(c)).result.warnings.map(formatDiagnostic)
}

const compose = (service: string, rest = ''): Record<string, string> => ({
  'compose.yaml': `services:\n  web:\n${service}${rest}`
})
const DOCKERFILE = { Dockerfile: 'FROM alpine\n' }

/** A build with every default, as the model holds it. */
function defaults(over: Partial<ServiceBuild>): ServiceBuild {
  return {
    context: '',
    args: {},
    labels: {},
    platforms: [],
    secrets: [],
    ssh: false,
    noCache: false,
    pull: false,
    location: { file: 'compose.yaml', line: 3, column: 5 },
    ...over
  }
}

describe('the short form', () => {
  it('builds the directory it names with its Dockerfile, and the image is left to the action', async () => {
    const { web, root } = await loaded({ files: { ...compose('    build: .\n'), ...DOCKERFILE } })
    expect(web.image).toBe('')
    expect(web.build).toEqual(defaults({ context: root, dockerfile: join(root, 'Dockerfile') }))
  })

  it('resolves the context against the first compose file, not the workspace', async () => {
    const files = {
      'deploy/compose.yaml': 'services:\n  web:\n    build: ../app\n',
      'app/Dockerfile': 'FROM alpine\n'
    }
    const { result, root } = await load({ files, compose: ['deploy/compose.yaml'] })
    expect(result.ok && result.model.services[0]!.build).toEqual(
      defaults({
        context: join(root, 'app'),
        dockerfile: join(root, 'app', 'Dockerfile'),
        location: { file: 'deploy/compose.yaml', line: 3, column: 5 }
      })
    )
  })

  it('keeps an image named next to the build as it is', async () => {
    const { web } = await loaded({
      files: { ...compose('    image: ghcr.io/acme/web:1\n    build: .\n'), ...DOCKERFILE }
    })
    expect(web.image).toBe('ghcr.io/acme/web:1')
    expect(web.build?.location).toEqual({ file: 'compose.yaml', line: 4, column: 5 })
  })
})

describe('the long form', () => {
  it('reads every key into the model', async () => {
    const body = [
      '    build:',
      '      context: ./app',
      '      dockerfile: docker/Dockerfile',
      '      target: runtime',
      '      args:',
      '        NODE: 22',
      '        DEBUG: false',
      '        SHA:',
      '        MISSING:',
      '      labels: [team=web, tier]',
      '      platforms: [linux/arm64, linux/amd64, linux/arm64/v8]',
      '      secrets:',
      '        - npm',
      '        - source: key',
      '          target: deploy_key',
      '      ssh: [default]',
      '      no_cache: "true"',
      '      pull: true',
      ''
    ].join('\n')
    const secrets = 'secrets:\n  npm:\n    environment: NPM_TOKEN\n  key:\n    file: ./keys/deploy\n'
    const files = {
      ...compose(body, secrets),
      'app/docker/Dockerfile': 'FROM alpine\n',
      'keys/deploy': 'key\n'
    }
    const { web, root } = await loaded({ files, env: { SHA: 'abc123', NPM_TOKEN: 't' } })
    expect(web.build).toEqual({
      context: join(root, 'app'),
      dockerfile: join(root, 'app', 'docker', 'Dockerfile'),
      args: { DEBUG: 'false', NODE: '22', SHA: 'abc123' },
      target: 'runtime',
      labels: { team: 'web', tier: '' },
      platforms: ['linux/arm64', 'linux/amd64'],
      secrets: [
        { id: 'npm', env: 'NPM_TOKEN' },
        { id: 'deploy_key', file: join(root, 'keys', 'deploy') }
      ],
      ssh: true,
      noCache: true,
      pull: true,
      location: { file: 'compose.yaml', line: 3, column: 5 }
    })
    expect(await warnings({ files, env: { SHA: 'abc123', NPM_TOKEN: 't' } })).toEqual([
      'compose.yaml:11:9 services.web.build.args.MISSING: has no value and MISSING is not set in the environment; it is left out'
    ])
  })

  it("defaults the context to the first compose file's directory and the Dockerfile to the one in it", async () => {
    const { web, root } = await loaded({ files: { ...compose('    build:\n      target: app\n'), ...DOCKERFILE } })
    expect(web.build).toEqual(defaults({ context: root, dockerfile: join(root, 'Dockerfile'), target: 'app' }))
  })

  it('takes args listed without a value from the environment, over .env, and leaves unset ones out', async () => {
    const files = {
      ...compose('    build:\n      args: [A=1, B, C, D=x=y]\n'),
      ...DOCKERFILE,
      '.env': 'B=from-dotenv\nC=from-dotenv\n'
    }
    const { web } = await loaded({ files, env: { C: 'from-env' } })
    expect(web.build?.args).toEqual({ A: '1', B: 'from-dotenv', C: 'from-env', D: 'x=y' })
    expect(await warnings({ files: { ...compose('    build:\n      args: [E]\n'), ...DOCKERFILE } })).toEqual([
      'compose.yaml:4:14 services.web.build.args.E: has no value and E is not set in the environment; it is left out'
    ])
  })

  it('builds from an inline Dockerfile without a Dockerfile in the context', async () => {
    const { web, root } = await loaded({
      files: compose('    build:\n      dockerfile_inline: |\n        FROM alpine\n')
    })
    expect(web.build).toEqual(defaults({ context: root, dockerfileInline: 'FROM alpine\n' }))
  })

  it('takes ssh "default" as a string too, and an empty list as no agent', async () => {
    expect((await loaded({ files: { ...compose('    build: {ssh: default}\n'), ...DOCKERFILE } })).web.build?.ssh).toBe(
      true
    )
    expect((await loaded({ files: { ...compose('    build: {ssh: []}\n'), ...DOCKERFILE } })).web.build?.ssh).toBe(
      false
    )
  })

  it('follows a symlinked context inside the repository to its real path', async () => {
    const { web, root } = await loaded({
      files: { ...compose('    build: ./link\n'), 'real/Dockerfile': 'FROM alpine\n' },
      setup: (dir) => symlinkSync(join(dir, 'real'), join(dir, 'link'))
    })
    expect(web.build?.context).toBe(join(root, 'real'))
    expect(web.build?.dockerfile).toBe(join(root, 'real', 'Dockerfile'))
  })
})

describe('build secrets', () => {
  const declared = (declaration: string): string => `secrets:\n  tok:\n${declaration}`

  it('do not read a file only builds use, which may be outside the repository, large or binary', async () => {
    const away = mkdtempSync(join(tmpdir(), 'hyperform-build-secret-'))
    outside.push(away)
    writeFileSync(join(away, 'token'), Buffer.alloc(20000, 0xff))
    const files = {
      ...compose('    build: {secrets: [tok]}\n', declared(`    file: ${join(away, 'token')}\n`)),
      ...DOCKERFILE
    }
    const { web } = await loaded({ files })
    expect(web.build?.secrets).toEqual([{ id: 'tok', file: join(away, 'token') }])
    expect(web.secrets).toEqual([])
  })

  it('report a missing file or a directory at the secret declaration', async () => {
    expect(
      await errors({
        files: { ...compose('    build: {secrets: [tok]}\n', declared('    file: ./nope\n')), ...DOCKERFILE }
      })
    ).toEqual([
      'compose.yaml:6:11 secrets.tok.file: secret file "nope": file not found (paths are relative to the first compose file)'
    ])
    expect(
      await errors({
        files: {
          ...compose('    build: {secrets: [tok]}\n', declared('    file: ./keys\n')),
          ...DOCKERFILE,
          'keys/a': 'x'
        }
      })
    ).toEqual(['compose.yaml:6:11 secrets.tok.file: secret file "keys": is a directory, not a file'])
  })

  it('refuse an AWS reference, an undeclared secret, a bad id, a repeated id and an unknown key', async () => {
    const body = [
      '    build:',
      '      secrets:',
      '        - tok',
      '        - ghost',
      '        - source: env',
      '          target: "a,b"',
      '        - source: env',
      '          target: tok',
      '        - {source: env, target: other, uid: "1000", path: x}',
      ''
    ].join('\n')
    const top = [
      'secrets:',
      '  tok:',
      '    x-hyperform: {from: "ssm:/ci/token"}',
      '  env:',
      '    environment: TOKEN',
      ''
    ].join('\n')
    const files = { ...compose(body, top), ...DOCKERFILE }
    expect(await errors({ files, env: { TOKEN: 't' } })).toEqual([
      'compose.yaml:5:11 services.web.build.secrets[0]: secret "tok" is an AWS reference (x-hyperform.from): a build secret must come from a file or the environment',
      'compose.yaml:6:11 services.web.build.secrets[1]: secret "ghost" is not declared in the top-level "secrets"',
      'compose.yaml:8:19 services.web.build.secrets[2].target: must be the secret\'s id in the Dockerfile (letters, digits, ".", "_" and "-"), got string "a,b"',
      'compose.yaml:11:53 services.web.build.secrets[4].path: is not a key of a build secret; expected "source" and "target"'
    ])
    const ok = ['    build:', '      secrets:', '        - env', '        - {source: env, uid: "1000"}', ''].join('\n')
    const printed = await spaces.printed({ files: { ...compose(ok, top), ...DOCKERFILE }, env: { TOKEN: 't' } })
    expect(printed).toEqual([
      'compose.yaml:6:11 services.web.build.secrets[1]: secret id "env" is already used by services.web.build.secrets[0]',
      'compose.yaml:6:25 services.web.build.secrets[1].uid: ignored: the Dockerfile\'s "RUN --mount=type=secret" sets the owner and mode'
    ])
  })

  it('take an unset variable as an error of the declaration, as for any secret', async () => {
    const files = { ...compose('    build: {secrets: [tok]}\n', declared('    environment: TOKEN\n')), ...DOCKERFILE }
    expect(await errors({ files })).toEqual([
      "compose.yaml:6:18 secrets.tok.environment: variable TOKEN is not set in the step's environment or in .env"
    ])
  })
})

describe('invalid builds', () => {
  it('refuses a service with neither image nor build at the service', async () => {
    expect(await errors({ files: compose('    ports: ["80"]\n') })).toEqual([
      'compose.yaml:2:3 services.web.image: is required: the image to run, such as "nginx:1.27", or a "build" of a directory of the repository'
    ])
  })

  it('refuses a URL or git context, short or long', async () => {
    expect(await errors({ files: compose('    build: https://github.com/acme/web.git#main\n') })).toEqual([
      'compose.yaml:3:12 services.web.build: only a directory of the repository can be built, not a URL or a git repository'
    ])
    expect(await errors({ files: compose('    build:\n      context: git@github.com:acme/web.git\n') })).toEqual([
      'compose.yaml:4:16 services.web.build.context: only a directory of the repository can be built, not a URL or a git repository'
    ])
  })

  it('refuses a context that is missing, a file, or outside the repository', async () => {
    expect(await errors({ files: compose('    build: ./app\n') })).toEqual([
      'compose.yaml:3:12 services.web.build: build context "app": directory not found (paths are relative to the first compose file)'
    ])
    expect(await errors({ files: { ...compose('    build:\n      context: ./Dockerfile\n'), ...DOCKERFILE } })).toEqual(
      [
        'compose.yaml:4:16 services.web.build.context: build context "Dockerfile": only a directory of the repository can be built (this is not a directory)'
      ]
    )
    const away = mkdtempSync(join(tmpdir(), 'hyperform-build-outside-'))
    outside.push(away)
    writeFileSync(join(away, 'Dockerfile'), 'FROM alpine\n')
    expect(
      await errors({
        files: compose('    build: ./away\n'),
        setup: (dir) => symlinkSync(away, join(dir, 'away'))
      })
    ).toEqual([
      'compose.yaml:3:12 services.web.build: build context "away": only a directory of the repository can be built (it resolves outside the repository)'
    ])
  })

  it('refuses a Dockerfile that is missing, a directory or outside the repository', async () => {
    expect(
      await errors({ files: compose('    build:\n      context: .\n      dockerfile: web.Dockerfile\n') })
    ).toEqual([
      'compose.yaml:5:19 services.web.build.dockerfile: Dockerfile "web.Dockerfile": file not found (paths are relative to the build context)'
    ])
    expect(
      await errors({ files: { ...compose('    build: {dockerfile: docker}\n'), 'docker/Dockerfile': 'FROM alpine\n' } })
    ).toEqual(['compose.yaml:3:25 services.web.build.dockerfile: Dockerfile "docker": is a directory, not a file'])
    const away = mkdtempSync(join(tmpdir(), 'hyperform-build-outside-'))
    outside.push(away)
    writeFileSync(join(away, 'Dockerfile'), 'FROM alpine\n')
    expect(
      await errors({
        files: compose('    build: .\n'),
        setup: (dir) => symlinkSync(join(away, 'Dockerfile'), join(dir, 'Dockerfile'))
      })
    ).toEqual([
      'compose.yaml:3:12 services.web.build: Dockerfile "Dockerfile": only files of the repository can be built from (it resolves outside the repository)'
    ])
  })

  it('refuses a long form without a Dockerfile at the build key', async () => {
    expect(await errors({ files: compose('    build:\n      target: app\n') })).toEqual([
      'compose.yaml:3:5 services.web.build.dockerfile: Dockerfile "Dockerfile": file not found in the build context; add it, or set "dockerfile" or "dockerfile_inline"'
    ])
  })

  it('refuses values of the wrong kind, each at its line and key path', async () => {
    const body = [
      '    build:',
      '      dockerfile: Dockerfile',
      '      dockerfile_inline: FROM alpine',
      '      args: "A=1"',
      '      labels: ["=x", {a: b}]',
      '      target: 5',
      '      platforms: [windows/amd64, linux, linux/arm/v7]',
      '      ssh: [default, "key=~/.ssh/id_ed25519"]',
      '      no_cache: maybe',
      '      pull: 1',
      ''
    ].join('\n')
    expect(await errors({ files: { ...compose(body), ...DOCKERFILE } })).toEqual([
      'compose.yaml:5:7 services.web.build.dockerfile_inline: conflicts with "dockerfile": a build has one Dockerfile, a file or inline text',
      'compose.yaml:6:13 services.web.build.args: must be a mapping or a list of "KEY=value" strings, got string "A=1"',
      'compose.yaml:7:16 services.web.build.labels[0]: "" is not a label name: it is empty or has "=", a blank or a control character',
      'compose.yaml:7:22 services.web.build.labels[1]: must be a string "KEY=value" or "KEY", got a mapping',
      'compose.yaml:8:15 services.web.build.target: must be the name of a stage of the Dockerfile, got number 5',
      'compose.yaml:9:19 services.web.build.platforms[0]: "windows/amd64" is not supported: EC2 instances run linux/amd64 or linux/arm64, the platforms images are built for',
      'compose.yaml:9:34 services.web.build.platforms[1]: must be a platform os/arch[/variant] such as "linux/amd64", got string "linux"',
      'compose.yaml:9:41 services.web.build.platforms[2]: "linux/arm/v7" is not supported: EC2 instances run linux/amd64 or linux/arm64, the platforms images are built for',
      'compose.yaml:10:22 services.web.build.ssh[1]: must be "default" (the runner\'s SSH agent), got string "key=~/.ssh/id_ed25519": other agents and key files are not forwarded to the build',
      'compose.yaml:11:17 services.web.build.no_cache: must be true or false, got string "maybe"',
      'compose.yaml:12:13 services.web.build.pull: must be true or false, got number 1'
    ])
  })

  it('refuses a build that is neither a path nor a mapping', async () => {
    expect(await errors({ files: compose('    build: [.]\n') })).toEqual([
      'compose.yaml:3:12 services.web.build: must be the build context (a directory of the repository) or a mapping with "context", "dockerfile", "args", ..., got a list'
    ])
  })

  it('refuses the keys that would build something else, and ignores the ones the action sets with a warning', async () => {
    const body = [
      '    build:',
      '      cache_from: [type=gha]',
      '      cache_to: [type=gha]',
      '      network: host',
      '      shm_size: 2g',
      '      isolation: default',
      '      privileged: true',
      '      tags: [acme/web:dev]',
      '      ulimits: {nofile: 1024}',
      '      entitlements: [network.host]',
      '      extra_hosts: ["repo.internal=10.0.0.5"]',
      '      additional_contexts: {base: ../base}',
      '      sbom: true',
      ''
    ].join('\n')
    expect(await spaces.printed({ files: { ...compose(body), ...DOCKERFILE } })).toEqual([
      'compose.yaml:13:7 services.web.build.extra_hosts: not supported: host entries are not added to the build; its RUN steps would resolve these names elsewhere',
      'compose.yaml:14:7 services.web.build.additional_contexts: not supported: only the build context is sent to the builder; build from one directory of the repository',
      'compose.yaml:15:7 services.web.build.sbom: not a Compose key',
      'compose.yaml:4:7 services.web.build.cache_from: ignored: the action sets the build cache',
      'compose.yaml:5:7 services.web.build.cache_to: ignored: the action sets the build cache',
      "compose.yaml:6:7 services.web.build.network: ignored: the action sets the build's network: the runner's default",
      "compose.yaml:7:7 services.web.build.shm_size: ignored: the action sets the build's /dev/shm size: Docker's default",
      "compose.yaml:8:7 services.web.build.isolation: ignored: the action sets the isolation: Docker's default on Linux",
      'compose.yaml:9:7 services.web.build.privileged: ignored: the action sets the privileges: builds are not privileged (RUN --security=insecure fails)',
      'compose.yaml:10:7 services.web.build.tags: ignored: the action sets the tags: the image is tagged by its content',
      "compose.yaml:11:7 services.web.build.ulimits: ignored: the action sets the build's limits: Docker's defaults",
      'compose.yaml:12:7 services.web.build.entitlements: ignored: the action sets the entitlements: none are granted to the build'
    ])
  })

  it('refuses a build without network, which the runner cannot keep', async () => {
    expect(await errors({ files: { ...compose('    build: {network: none}\n'), ...DOCKERFILE } })).toEqual([
      'compose.yaml:3:22 services.web.build.network: not supported: the build runs with the runner\'s network, so its RUN steps could reach what "none" keeps out'
    ])
  })
})

describe('pull_policy with a build', () => {
  it('ignores "build" with a warning that the action decides when to build', async () => {
    expect(await warnings({ files: { ...compose('    build: .\n    pull_policy: build\n'), ...DOCKERFILE } })).toEqual([
      'compose.yaml:4:5 services.web.pull_policy: ignored: the action decides when to build the image'
    ])
  })

  it('keeps the usual warning for the other values', async () => {
    expect(await warnings({ files: { ...compose('    build: .\n    pull_policy: always\n'), ...DOCKERFILE } })).toEqual(
      ['compose.yaml:4:5 services.web.pull_policy: ignored: the image is pulled when each instance starts']
    )
  })
})

describe('merging builds', () => {
  it('merges two files key by key, args and labels by name, secrets by id', async () => {
    const base = [
      'services:',
      '  web:',
      '    build:',
      '      context: ./app',
      '      target: dev',
      '      args: [A=1, B=1]',
      '      labels: {team: web}',
      '      platforms: [linux/amd64]',
      '      secrets: [tok]',
      'secrets:',
      '  tok: {environment: TOK}',
      '  tok2: {environment: TOK2}',
      ''
    ].join('\n')
    const over = [
      'services:',
      '  web:',
      '    build:',
      '      dockerfile: Dockerfile.prod',
      '      args: {B: 2, C: 3}',
      '      labels: [tier=front]',
      '      platforms: [linux/amd64, linux/arm64]',
      '      secrets: [{source: tok2, target: tok}]',
      ''
    ].join('\n')
    const files = { 'compose.yaml': base, 'prod.yaml': over, 'app/Dockerfile.prod': 'FROM alpine\n' }
    const { result, root } = await load({ files, compose: ['compose.yaml', 'prod.yaml'], env: { TOK: 'a', TOK2: 'b' } })
    expect(result.ok && result.model.services[0]!.build).toEqual({
      context: join(root, 'app'),
      dockerfile: join(root, 'app', 'Dockerfile.prod'),
      args: { A: '1', B: '2', C: '3' },
      target: 'dev',
      labels: { team: 'web', tier: 'front' },
      platforms: ['linux/amd64', 'linux/arm64'],
      secrets: [{ id: 'tok', env: 'TOK2' }],
      ssh: false,
      noCache: false,
      pull: false,
      location: { file: 'compose.yaml', line: 3, column: 5 }
    })
  })

  it('reads a short form as its context, so that a mapping in the other file keeps or replaces it', async () => {
    const files = {
      'compose.yaml': 'services:\n  web:\n    build: ./app\n',
      'target.yaml': 'services:\n  web:\n    build: {target: prod}\n',
      'other.yaml': 'services:\n  web:\n    build: ./other\n',
      'app/Dockerfile': 'FROM alpine\n',
      'other/Dockerfile': 'FROM alpine\n'
    }
    const kept = await load({ files, compose: ['compose.yaml', 'target.yaml'] })
    expect(kept.result.ok && kept.result.model.services[0]!.build).toMatchObject({
      context: join(kept.root, 'app'),
      target: 'prod'
    })
    const replaced = await load({ files, compose: ['compose.yaml', 'target.yaml', 'other.yaml'] })
    expect(replaced.result.ok && replaced.result.model.services[0]!.build).toMatchObject({
      context: join(replaced.root, 'other'),
      dockerfile: join(replaced.root, 'other', 'Dockerfile'),
      target: 'prod'
    })
    const strings = await load({ files, compose: ['compose.yaml', 'other.yaml'] })
    expect(strings.result.ok && strings.result.model.services[0]!.build?.context).toBe(join(strings.root, 'other'))
  })

  it('gives a service its image from one file and its build from another', async () => {
    const files = {
      'compose.yaml': 'services:\n  web:\n    build: .\n',
      'image.yaml': 'services:\n  web:\n    image: acme/web:2\n',
      ...DOCKERFILE
    }
    const { result } = await load({ files, compose: ['compose.yaml', 'image.yaml'] })
    expect(result.ok && result.model.services[0]!.image).toBe('acme/web:2')
  })
})
