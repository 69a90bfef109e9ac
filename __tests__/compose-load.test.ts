/**
 * loadCompose end to end: files written to a temporary workspace, parsed,
 * interpolated, merged, validated and normalised to the typed model.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import type { ComposeModel, LoadResult, ServiceModel } from '../src/compose/model.js'
import { RUNTIME_DEFAULTS } from './helpers/deploy-fixtures.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..')
const workspaces: string[] = []

afterAll(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true })
})

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hyperform-compose-'))
  workspaces.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

interface LoadCase {
  files: Record<string, string>
  compose?: string[]
  env?: Record<string, string | undefined>
}

async function load(c: LoadCase): Promise<LoadResult> {
  return loadCompose({ files: c.compose ?? ['compose.yaml'], workspace: workspace(c.files), env: c.env ?? {} })
}

async function model(c: LoadCase): Promise<ComposeModel> {
  const result = await load(c)
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
  return result.model
}

async function service(c: LoadCase, name = 'web'): Promise<ServiceModel> {
  const found = (await model(c)).services.find((s) => s.name === name)
  if (!found) throw new Error(`no service ${name}`)
  return found
}

async function errors(c: LoadCase): Promise<string[]> {
  const result = await load(c)
  return result.ok ? [] : result.errors.map(formatDiagnostic)
}

async function warnings(c: LoadCase): Promise<string[]> {
  return (await load(c)).warnings.map(formatDiagnostic)
}

const web = (body: string): Record<string, string> => ({
  'compose.yaml': `services:\n  web:\n    image: nginx\n${body}`
})

describe('the seed examples', () => {
  it('loads the two-service wordpress example to exactly the expected model', async () => {
    const result = await loadCompose({ files: ['examples/wordpress/compose.yaml'], workspace: REPO, env: {} })
    const file = 'examples/wordpress/compose.yaml'
    expect(result).toEqual({
      ok: true,
      warnings: [],
      model: {
        files: [file],
        services: [
          {
            name: 'db',
            image: 'mysql:5.7',
            environment: { MYSQL_DATABASE: 'wordpress', MYSQL_PASSWORD: 'password', MYSQL_USER: 'wordpress' },
            ports: [{ target: 3306, published: 3306, protocol: 'tcp' }],
            expose: [],
            ...RUNTIME_DEFAULTS,
            replicas: 1,
            preemptible: 0,
            public: false,
            location: { file, line: 2, column: 4 }
          },
          {
            name: 'wordpress',
            image: 'wordpress:latest',
            environment: {
              WORDPRESS_DB_HOST: 'db:3306',
              WORDPRESS_DB_PASSWORD: 'password',
              WORDPRESS_DB_USER: 'wordpress'
            },
            ports: [{ target: 80, published: 80, protocol: 'tcp' }],
            expose: [],
            ...RUNTIME_DEFAULTS,
            replicas: 2,
            preemptible: 1,
            public: false,
            location: { file, line: 11, column: 4 }
          }
        ]
      }
    })
  })

  it('loads the single web example to exactly the expected model', async () => {
    const result = await loadCompose({ files: ['examples/web/compose.yaml'], workspace: REPO, env: {} })
    const file = 'examples/web/compose.yaml'
    expect(result).toEqual({
      ok: true,
      warnings: [],
      model: {
        files: [file],
        services: [
          {
            name: 'web',
            image: 'nginx',
            environment: {},
            ports: [{ target: 80, published: 8000, protocol: 'tcp' }],
            expose: [],
            ...RUNTIME_DEFAULTS,
            replicas: 2,
            preemptible: 1,
            public: false,
            location: { file, line: 2, column: 3 }
          }
        ]
      }
    })
  })
})

describe('normalisation', () => {
  it('sorts services by name, keeps the top-level name and applies the deploy defaults', async () => {
    const m = await model({
      files: { 'compose.yaml': 'name: shop\nservices:\n  zeta:\n    image: z\n  alpha:\n    image: a\n' }
    })
    expect(m.name).toBe('shop')
    expect(m.services.map((s) => [s.name, s.replicas, s.preemptible, s.public])).toEqual([
      ['alpha', 1, 0, false],
      ['zeta', 1, 0, false]
    ])
  })

  it('reads every deploy key the action supports', async () => {
    const s = await service({
      files: web(
        '    deploy:\n      replicas: 4\n      preemptible: 4\n      size: m7i-flex.2xlarge\n      public: true\n'
      )
    })
    expect([s.replicas, s.preemptible, s.size, s.public]).toEqual([4, 4, 'm7i-flex.2xlarge', true])
  })

  it('allows zero replicas, which scales a service down without removing it', async () => {
    const s = await service({ files: web('    deploy:\n      replicas: 0\n') })
    expect([s.replicas, s.preemptible]).toEqual([0, 0])
  })

  it('reads short and long port syntax into one mapping per port, without duplicates', async () => {
    const ports = [
      '      - 80',
      '      - "8080:80"',
      '      - "127.0.0.1:9000-9001:9000-9001/udp"',
      '      - target: 443',
      '        published: "8443"',
      '        protocol: tcp',
      '        host_ip: 0.0.0.0',
      '        mode: host',
      '      - target: 53',
      '        protocol: udp',
      '      - "8080:80"'
    ].join('\n')
    const s = await service({
      files: web(`    ports:\n${ports}\n    expose:\n      - 3000\n      - "4000-4001/udp"\n`)
    })
    expect(s.ports).toEqual([
      { target: 80, published: 80, protocol: 'tcp' },
      { target: 80, published: 8080, protocol: 'tcp' },
      { target: 9000, published: 9000, protocol: 'udp', hostIp: '127.0.0.1' },
      { target: 9001, published: 9001, protocol: 'udp', hostIp: '127.0.0.1' },
      { target: 443, published: 8443, protocol: 'tcp', hostIp: '0.0.0.0' },
      { target: 53, published: 53, protocol: 'udp' }
    ])
    expect(s.expose).toEqual([
      { port: 3000, protocol: 'tcp' },
      { port: 4000, protocol: 'udp' },
      { port: 4001, protocol: 'udp' }
    ])
  })

  it('splits string commands shell-style and keeps list commands as they are', async () => {
    const s = await service({ files: web('    entrypoint: /bin/sh -c\n    command: ["echo \'$1\'", 2]\n') })
    expect(s.entrypoint).toEqual(['/bin/sh', '-c'])
    expect(s.command).toEqual(["echo '$1'", '2'])
    const quoted = await service({ files: web(`    command: 'nginx -g "daemon off;" -c /etc/my\\ nginx.conf'\n`) })
    expect(quoted.command).toEqual(['nginx', '-g', 'daemon off;', '-c', '/etc/my nginx.conf'])
  })

  it('reads environment as a list, converting numbers and booleans to strings, and sorts the keys', async () => {
    const s = await service({ files: web('    environment:\n      - ZED=last\n      - "A=1=2"\n      - EMPTY=\n') })
    expect(s.environment).toEqual({ A: '1=2', EMPTY: '', ZED: 'last' })
    expect(Object.keys(s.environment)).toEqual(['A', 'EMPTY', 'ZED'])
    const m = await service({
      files: web('    environment:\n      PORT: 8080\n      DEBUG: false\n      RATIO: 0.5\n')
    })
    expect(m.environment).toEqual({ DEBUG: 'false', PORT: '8080', RATIO: '0.5' })
  })

  it('takes a variable without a value from the environment, and leaves it out with a warning when unset', async () => {
    const c = { files: web('    environment:\n      - FROM_ENV\n      - NOT_SET\n'), env: { FROM_ENV: 'yes' } }
    expect((await service(c)).environment).toEqual({ FROM_ENV: 'yes' })
    expect(await warnings(c)).toEqual([
      'compose.yaml:6:9 services.web.environment.NOT_SET: has no value and NOT_SET is not set in the environment; it is left out'
    ])
  })

  it('resolves YAML anchors and merge keys, and ignores x- extension keys', async () => {
    const text =
      'x-common: &common\n  image: nginx\n  environment:\n    A: "1"\nservices:\n  web:\n    <<: *common\n    x-note: anything\n    command: [run]\n'
    const s = await service({ files: { 'compose.yaml': text } })
    expect([s.image, s.environment, s.command]).toEqual(['nginx', { A: '1' }, ['run']])
    expect(await warnings({ files: { 'compose.yaml': text } })).toEqual([])
  })
})

describe('merging several files in order', () => {
  const base =
    'services:\n  web:\n    image: nginx:1\n    command: ["a", "b"]\n    ports: ["80:80"]\n    expose: [3000]\n    environment:\n      - A=base\n      - B=base\n    deploy:\n      replicas: 2\n'

  it('merges mappings recursively, later scalars winning, and adds new services', async () => {
    const m = await model({
      files: {
        'compose.yaml': base,
        'compose.prod.yaml':
          'services:\n  web:\n    image: nginx:2\n    deploy:\n      preemptible: 1\n  db:\n    image: mysql\n'
      },
      compose: ['compose.yaml', 'compose.prod.yaml']
    })
    const w = m.services.find((s) => s.name === 'web')!
    expect([w.image, w.replicas, w.preemptible, w.location.file]).toEqual(['nginx:2', 2, 1, 'compose.yaml'])
    expect(m.services.map((s) => s.name)).toEqual(['db', 'web'])
    expect(m.files).toEqual(['compose.yaml', 'compose.prod.yaml'])
  })

  it('concatenates ports and expose without repeating identical entries, and replaces command and entrypoint', async () => {
    const s = await service({
      files: {
        'compose.yaml': base,
        'o.yaml':
          'services:\n  web:\n    command: serve --fast\n    ports: ["80:80", "443:443"]\n    expose: [3000, 4000]\n'
      },
      compose: ['compose.yaml', 'o.yaml']
    })
    expect(s.command).toEqual(['serve', '--fast'])
    expect(s.ports.map((p) => p.published)).toEqual([80, 443])
    expect(s.expose.map((p) => p.port)).toEqual([3000, 4000])
  })

  it('merges environment by key across the list and map forms', async () => {
    const s = await service({
      files: {
        'compose.yaml': base,
        'o.yaml': 'services:\n  web:\n    environment:\n      B: override\n      C: new\n'
      },
      compose: ['compose.yaml', 'o.yaml']
    })
    expect(s.environment).toEqual({ A: 'base', B: 'override', C: 'new' })
  })

  it('applies three files in the order given', async () => {
    const files = {
      'a.yaml': 'services:\n  web:\n    image: a\n    environment: {X: a, Y: a, Z: a}\n',
      'b.yaml': 'services:\n  web:\n    image: b\n    environment: [X=b, Y=b]\n',
      'c.yaml': 'services:\n  web:\n    environment: {X: c}\n'
    }
    const s = await service({ files, compose: ['a.yaml', 'b.yaml', 'c.yaml'] })
    expect([s.image, s.environment]).toEqual(['b', { X: 'c', Y: 'b', Z: 'a' }])
    const reversed = await service({ files, compose: ['c.yaml', 'b.yaml', 'a.yaml'] })
    expect([reversed.image, reversed.environment]).toEqual(['a', { X: 'a', Y: 'a', Z: 'a' }])
  })

  it('reports a problem at the file and line of the value that won the merge', async () => {
    const result = await errors({
      files: { 'compose.yaml': base, 'o.yaml': 'services:\n  web:\n    deploy:\n      preemptible: 3\n' },
      compose: ['compose.yaml', 'o.yaml']
    })
    expect(result).toEqual(['o.yaml:4:20 services.web.deploy.preemptible: 3 is more than replicas (2)'])
  })

  it('adds nothing for an override whose services key is empty', async () => {
    const s = await service({
      files: { 'compose.yaml': base, 'o.yaml': 'services:\n' },
      compose: ['compose.yaml', 'o.yaml']
    })
    expect([s.image, s.replicas]).toEqual(['nginx:1', 2])
  })

  it('accepts absolute paths and an override file without services of its own', async () => {
    const dir = workspace({ 'compose.yaml': base, 'empty-override.yaml': 'x-nothing: true\n' })
    const result = await loadCompose({
      files: [join(dir, 'compose.yaml'), 'empty-override.yaml'],
      workspace: dir,
      env: {}
    })
    expect(result.ok).toBe(true)
  })
})

describe('interpolation in compose files', () => {
  it('interpolates values of every form from the environment, including numbers for deploy', async () => {
    const text = [
      'services:',
      '  web:',
      '    image: "${REGISTRY:-docker.io}/app:${TAG:?set TAG}"',
      '    environment:',
      '      GREETING: hello $$USER from $NAME',
      '      ALT: ${NAME:+named}${MISSING+never}',
      '      DASH: ${EMPTY-unused}|${EMPTY:-used}',
      '      NESTED: ${MISSING:-${ALSO:-deep}}',
      '    deploy:',
      '      replicas: ${REPLICAS:-3}',
      '      public: ${PUBLIC}',
      ''
    ].join('\n')
    const s = await service({
      files: { 'compose.yaml': text },
      env: { TAG: '7', NAME: 'ann', EMPTY: '', PUBLIC: 'true' }
    })
    expect(s.image).toBe('docker.io/app:7')
    expect(s.environment).toEqual({ ALT: 'named', DASH: '|used', GREETING: 'hello $USER from ann', NESTED: 'deep' })
    expect([s.replicas, s.public]).toEqual([3, true])
  })

  it('does not interpolate keys', async () => {
    expect(
      await errors({ files: { 'compose.yaml': 'services:\n  ${NAME}:\n    image: nginx\n' }, env: { NAME: 'web' } })
    ).toEqual([
      'compose.yaml:2:3 services.${NAME}: service name "${NAME}" must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit'
    ])
  })

  it('warns once per value about a variable that is not set', async () => {
    expect(await warnings({ files: web('    environment:\n      A: ${NOPE}-${NOPE}\n') })).toEqual([
      'compose.yaml:5:10 services.web.environment.A: variable NOPE is not set; using an empty string'
    ])
  })
})

describe('the .env file', () => {
  it('feeds interpolation from beside the first compose file, the environment winning over it', async () => {
    const files = {
      'compose.yaml':
        'services:\n  web:\n    image: nginx:${TAG}\n    environment:\n      - WHO=${WHO}\n      - PLAIN\n',
      '.env': '# defaults\nTAG=1.25\nexport WHO="the .env"\nPLAIN=from-dotenv\n'
    }
    const s = await service({ files, env: { TAG: '1.27' } })
    expect(s.image).toBe('nginx:1.27')
    expect(s.environment).toEqual({ PLAIN: 'from-dotenv', WHO: 'the .env' })
  })

  it('interpolates .env values from the environment and earlier lines, but not single-quoted ones', async () => {
    const files = {
      'compose.yaml': 'services:\n  web:\n    image: nginx\n    environment: [A, B, C, D]\n',
      '.env': 'A=${HOME_DIR}/data\nB="$A/sub" # comment\nC=\'$A\'\nD=x # inline comment\n'
    }
    const s = await service({ files, env: { HOME_DIR: '/home/u' } })
    expect(s.environment).toEqual({ A: '/home/u/data', B: '/home/u/data/sub', C: '$A', D: 'x' })
  })

  it('reads only the .env beside the first file, not beside later ones', async () => {
    const files = {
      'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG:-base}\n',
      'deploy/prod.yaml': 'services:\n  web:\n    deploy: {replicas: 2}\n',
      'deploy/.env': 'TAG=from-deploy\n'
    }
    expect((await service({ files, compose: ['compose.yaml', 'deploy/prod.yaml'] })).image).toBe('nginx:base')
    expect((await service({ files, compose: ['deploy/prod.yaml', 'compose.yaml'] })).image).toBe('nginx:from-deploy')
  })

  it('reports a line of the .env file that cannot be read, with its own file and line', async () => {
    expect(await errors({ files: { ...web(''), '.env': 'OK=1\nnot-valid=2\n' } })).toEqual([
      '.env:2:1 (.env): "not-valid" is not a valid environment variable name (letters, digits and underscores, not starting with a digit)'
    ])
  })
})

describe('env_file', () => {
  it('puts env_file values first, later files over earlier ones, and environment on top', async () => {
    const files = {
      ...web(
        '    env_file:\n      - base.env\n      - path: local.env\n        required: false\n      - path: extra.env\n    environment:\n      C: from-environment\n'
      ),
      'base.env': 'A=base\nB=base\nC=base\n',
      'extra.env': 'B=extra\n'
    }
    expect((await service({ files })).environment).toEqual({ A: 'base', B: 'extra', C: 'from-environment' })
  })

  it('takes env_file values as written, without interpolation, with dotenv quoting', async () => {
    const files = { ...web('    env_file: app.env\n'), 'app.env': "RAW=$HOME and ${TAG}\nQ=\"a\\nb\"\nS='it\\'s'\n" }
    expect((await service({ files, env: { HOME: '/home/u', TAG: '1' } })).environment).toEqual({
      Q: 'a\nb',
      RAW: '$HOME and ${TAG}',
      S: "it's"
    })
  })

  it('resolves env_file paths against the first compose file, also from an override file', async () => {
    const files = {
      'app/compose.yaml': 'services:\n  web:\n    image: nginx\n    env_file: one.env\n',
      'app/ops/override.yaml': 'services:\n  web:\n    env_file: [two.env]\n',
      'app/one.env': 'ONE=1\n',
      'app/two.env': 'TWO=2\n'
    }
    const s = await service({ files, compose: ['app/compose.yaml', 'app/ops/override.yaml'] })
    expect(s.environment).toEqual({ ONE: '1', TWO: '2' })
  })

  it('reports a line of an env_file that cannot be read, at that file and line', async () => {
    expect(await errors({ files: { ...web('    env_file: app.env\n'), 'app.env': 'A=1\nB="open\n' } })).toEqual([
      'app.env:2:3 (env_file): the value of "B" has no closing "'
    ])
  })
})

describe('keys the action cannot honour', () => {
  it('warns about each ignored key at the key, and ignores x- keys silently', async () => {
    const body =
      '    x-team: platform\n    depends_on: [db]\n    pull_policy: always\n    labels:\n      team: web\n    deploy:\n      resources: {limits: {cpus: "1"}}\n'
    expect(
      await warnings({ files: { 'compose.yaml': `version: "3.9"\nservices:\n  web:\n    image: nginx\n${body}` } })
    ).toEqual([
      'compose.yaml:1:1 version: ignored: obsolete in the Compose Specification',
      'compose.yaml:6:5 services.web.depends_on: ignored: all services start together; make clients retry until their dependencies answer',
      'compose.yaml:7:5 services.web.pull_policy: ignored: the image is pulled when each instance starts',
      'compose.yaml:8:5 services.web.labels: ignored: container labels are not applied',
      'compose.yaml:11:7 services.web.deploy.resources: ignored: the container has the instance to itself; choose the instance type with deploy.size'
    ])
  })

  it('keeps the image as given next to a build, without a warning', async () => {
    const files = { ...web('    build: .\n'), Dockerfile: 'FROM nginx\n' }
    expect(await warnings({ files })).toEqual([])
    expect((await service({ files })).image).toBe('nginx')
  })
})

interface InvalidCase {
  name: string
  files: Record<string, string>
  compose?: string[]
  env?: Record<string, string>
  errors: string[]
}

const INVALID: InvalidCase[] = [
  { name: 'a missing compose file', files: {}, errors: ['compose.yaml:1:1 (file): file not found'] },
  {
    name: 'a compose path that is a directory',
    files: { 'compose.yaml/keep': '' },
    errors: ['compose.yaml:1:1 (file): is a directory, not a file']
  },
  {
    name: 'an empty file',
    files: { 'compose.yaml': '# nothing\n' },
    errors: ['compose.yaml:1:1 (file): the file is empty; expected a mapping with "services"']
  },
  {
    name: 'a YAML syntax error',
    files: web('    ports: [80\n'),
    errors: [
      'compose.yaml:5:1 (yaml): YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]'
    ]
  },
  {
    name: 'a duplicate key',
    files: web('    image: redis\n'),
    errors: ['compose.yaml:4:5 services.web.image: duplicate key "image": it is already set at line 3']
  },
  {
    name: 'several documents',
    files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\n---\nservices: {}\n' },
    errors: ['compose.yaml:4:1 (yaml): the file has 2 YAML documents; a compose file is a single document']
  },
  {
    name: 'a top level that is a list',
    files: { 'compose.yaml': '- web\n' },
    errors: ['compose.yaml:1:1 (yaml): the top level must be a mapping with "services", got a list']
  },
  {
    name: 'no services key',
    files: { 'compose.yaml': 'name: shop\n' },
    errors: ['compose.yaml:1:1 services: is required: a mapping of service names to services']
  },
  {
    name: 'services that is a list',
    files: { 'compose.yaml': 'services:\n  - web\n' },
    errors: ['compose.yaml:2:3 services: must be a mapping of service names to services, got a list']
  },
  {
    name: 'no services at all',
    files: { 'compose.yaml': 'services: {}\n' },
    errors: ['compose.yaml:1:11 services: must define at least one service']
  },
  {
    name: 'a service name that is not a DNS label',
    files: { 'compose.yaml': 'services:\n  my_web:\n    image: nginx\n' },
    errors: [
      'compose.yaml:2:3 services.my_web: service name "my_web" must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit'
    ]
  },
  {
    name: 'a service without image',
    files: { 'compose.yaml': 'services:\n  web:\n    ports: [80]\n' },
    errors: [
      'compose.yaml:2:3 services.web.image: is required: the image to run, such as "nginx:1.27", or a "build" of a directory of the repository'
    ]
  },
  {
    name: 'a service with only build and no Dockerfile',
    files: { 'compose.yaml': 'services:\n  web:\n    build: .\n' },
    errors: [
      'compose.yaml:3:12 services.web.build: Dockerfile "Dockerfile": file not found in the build context; add it, or set "dockerfile" or "dockerfile_inline"'
    ]
  },
  {
    name: 'an image that is a number',
    files: { 'compose.yaml': 'services:\n  web:\n    image: 5\n' },
    errors: ['compose.yaml:3:12 services.web.image: must be an image reference such as "nginx:1.27", got number 5']
  },
  {
    name: 'preemptible above replicas',
    files: web('    deploy:\n      replicas: 2\n      preemptible: 3\n'),
    errors: ['compose.yaml:6:20 services.web.deploy.preemptible: 3 is more than replicas (2)']
  },
  {
    name: 'preemptible above the default of one replica',
    files: web('    deploy:\n      preemptible: 2\n'),
    errors: ['compose.yaml:5:20 services.web.deploy.preemptible: 2 is more than replicas (1)']
  },
  {
    name: 'negative replicas',
    files: web('    deploy:\n      replicas: -1\n'),
    errors: ['compose.yaml:5:17 services.web.deploy.replicas: -1 is less than 0']
  },
  {
    name: 'too many replicas',
    files: web('    deploy:\n      replicas: 101\n'),
    errors: [
      'compose.yaml:5:17 services.web.deploy.replicas: 101 is more than 100, the limit per service: each replica is its own EC2 instance, so more is most likely a mistake'
    ]
  },
  {
    name: 'fractional replicas',
    files: web('    deploy:\n      replicas: 1.5\n'),
    errors: ['compose.yaml:5:17 services.web.deploy.replicas: must be an integer, got number 1.5']
  },
  {
    name: 'preemptible as words',
    files: web('    deploy:\n      preemptible: one\n'),
    errors: ['compose.yaml:5:20 services.web.deploy.preemptible: must be an integer, got string "one"']
  },
  {
    name: 'a size that is not an instance type',
    files: web('    deploy:\n      size: t3micro\n'),
    errors: [
      'compose.yaml:5:13 services.web.deploy.size: "t3micro" is not an EC2 instance type such as "t3.micro" (family.size)'
    ]
  },
  {
    name: 'public that is not a boolean',
    files: web('    deploy:\n      public: maybe\n'),
    errors: ['compose.yaml:5:15 services.web.deploy.public: must be true or false, got string "maybe"']
  },
  {
    name: 'deploy that is a list',
    files: web('    deploy: [1]\n'),
    errors: ['compose.yaml:4:13 services.web.deploy: must be a mapping, got a list']
  },
  {
    name: 'an unknown deploy key',
    files: web('    deploy:\n      replica: 2\n'),
    errors: ['compose.yaml:5:7 services.web.deploy.replica: not a Compose key; did you mean "replicas"?']
  },
  {
    name: 'a misspelt service key',
    files: web('    port: [80]\n'),
    errors: ['compose.yaml:4:5 services.web.port: not a Compose key; did you mean "ports"?']
  },
  {
    name: 'an unknown top-level key',
    files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\nfrobnicate: true\n' },
    errors: ['compose.yaml:4:1 frobnicate: not a Compose key']
  },
  {
    name: 'a volume not declared at the top level',
    files: web('    volumes:\n      - data:/var/lib/data\n'),
    errors: [
      'compose.yaml:5:9 services.web.volumes[0]: volume "data" is not declared in the top-level "volumes" (a path to a repository file starts with "./")'
    ]
  },
  {
    name: 'privileged mode',
    files: web('    privileged: true\n'),
    errors: [
      'compose.yaml:4:5 services.web.privileged: not supported: the container runs with Docker defaults; this security or isolation setting cannot be applied'
    ]
  },
  {
    name: 'a port above 65535',
    files: web('    ports:\n      - "70000:80"\n'),
    errors: ['compose.yaml:5:9 services.web.ports[0]: port 70000 is out of range 1-65535']
  },
  {
    name: 'port ranges of different lengths',
    files: web('    ports:\n      - "8000-8002:80-81"\n'),
    errors: [
      'compose.yaml:5:9 services.web.ports[0]: published 8000-8002 (3 ports) and target 80-81 (2 ports) must have the same number of ports'
    ]
  },
  {
    name: 'an unknown protocol',
    files: web('    ports:\n      - "80/sctp"\n'),
    errors: ['compose.yaml:5:9 services.web.ports[0]: protocol "sctp" is not supported; use tcp or udp']
  },
  {
    name: 'a long port without target',
    files: web('    ports:\n      - published: 8080\n'),
    errors: ['compose.yaml:5:9 services.web.ports[0].target: is required']
  },
  {
    name: 'a long port with a bad protocol',
    files: web('    ports:\n      - target: 80\n        protocol: http\n'),
    errors: ['compose.yaml:6:19 services.web.ports[0].protocol: must be "tcp" or "udp", got string "http"']
  },
  {
    name: 'an unknown long port key',
    files: web('    ports:\n      - target: 80\n        external: 80\n'),
    errors: [
      'compose.yaml:6:9 services.web.ports[0].external: is not a port key; expected one of target, published, protocol, host_ip, mode, name, app_protocol'
    ]
  },
  {
    name: 'two ports published on the same host port',
    files: web('    ports:\n      - "80:80"\n      - "80:8080"\n'),
    errors: ['compose.yaml:6:9 services.web.ports[1]: published port 80/tcp is already used by services.web.ports[0]']
  },
  {
    name: 'ports that is a string',
    files: web('    ports: "80:80"\n'),
    errors: ['compose.yaml:4:12 services.web.ports: must be a list of ports, got string "80:80"']
  },
  {
    name: 'an expose entry that is not a port',
    files: web('    expose:\n      - http\n'),
    errors: ['compose.yaml:5:9 services.web.expose[0]: "http" is not a port number or range such as 80 or 8000-8010']
  },
  {
    name: 'an invalid environment name in the map form',
    files: web('    environment:\n      my-var: x\n'),
    errors: [
      'compose.yaml:5:7 services.web.environment.my-var: "my-var" is not a valid environment variable name (letters, digits and underscores, not starting with a digit)'
    ]
  },
  {
    name: 'an environment item without a name in the list form',
    files: web('    environment:\n      - =x\n'),
    errors: [
      'compose.yaml:5:9 services.web.environment[0]: "" is not a valid environment variable name (letters, digits and underscores, not starting with a digit)'
    ]
  },
  {
    name: 'an environment value that is a mapping',
    files: web('    environment:\n      A: {b: c}\n'),
    errors: ['compose.yaml:5:10 services.web.environment.A: must be a string, number, boolean or null, got a mapping']
  },
  {
    name: 'a missing env_file',
    files: web('    env_file: missing.env\n'),
    errors: [
      'compose.yaml:4:15 services.web.env_file: env file "missing.env": file not found (paths are relative to the first compose file; set "required: false" if it is optional)'
    ]
  },
  {
    name: 'an env_file required flag that is not a boolean',
    files: { ...web('    env_file:\n      - path: a.env\n        required: sometimes\n'), 'a.env': 'A=1\n' },
    errors: ['compose.yaml:6:19 services.web.env_file[0].required: must be true or false, got string "sometimes"']
  },
  {
    name: 'a command with an unterminated quote',
    files: web('    command: echo "hi\n'),
    errors: ['compose.yaml:4:14 services.web.command: "echo \\"hi" has an unterminated double quote']
  },
  {
    name: 'a command list with a mapping in it',
    files: web('    command: [echo, {a: b}]\n'),
    errors: ['compose.yaml:4:21 services.web.command[1]: must be a string, got a mapping']
  },
  {
    name: 'a required variable that is not set',
    files: { 'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG:?set TAG to the release}\n' },
    errors: ['compose.yaml:3:12 services.web.image: required variable TAG is missing a value: set TAG to the release']
  },
  {
    name: 'a malformed interpolation',
    files: { 'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG\n' },
    errors: ['compose.yaml:3:12 services.web.image: invalid interpolation in "nginx:${TAG": "${" is not closed by "}"']
  },
  {
    name: 'an unknown interpolation modifier',
    files: { 'compose.yaml': 'services:\n  web:\n    image: nginx:${TAG/a/b}\n' },
    errors: [
      'compose.yaml:3:12 services.web.image: invalid interpolation in "nginx:${TAG/a/b}": unsupported modifier "/" after TAG (supported: :- - :? ? :+ +)'
    ]
  },
  {
    name: 'an interpolated replicas that is not a number',
    files: web('    deploy:\n      replicas: ${N:-many}\n'),
    errors: ['compose.yaml:5:17 services.web.deploy.replicas: must be an integer, got string "many"']
  },
  {
    name: 'a project name with capitals',
    files: { 'compose.yaml': 'name: Shop\nservices:\n  web:\n    image: nginx\n' },
    errors: [
      'compose.yaml:1:7 name: "Shop" must contain only lowercase letters, digits, dashes and underscores, starting with a letter or digit'
    ]
  }
]

describe('invalid compose files', () => {
  it.each(INVALID.map((c) => [c.name, c] as const))('rejects %s with the exact located message', async (_name, c) => {
    expect(await errors(c)).toEqual(c.errors)
  })

  it('collects every problem in the files instead of stopping at the first', async () => {
    const files = {
      'compose.yaml':
        'services:\n  Web:\n    build: .\n  db:\n    image: mysql\n    volumes: [x:/y]\n    deploy: {replicas: 1, preemptible: 2}\n',
      'broken.yaml': 'services: [\n'
    }
    expect(await errors({ files })).toEqual([
      'compose.yaml:2:3 services.Web: service name "Web" must be a DNS label: lowercase letters, digits and hyphens, starting and ending with a letter or digit',
      'compose.yaml:3:12 services.Web.build: Dockerfile "Dockerfile": file not found in the build context; add it, or set "dockerfile" or "dockerfile_inline"',
      'compose.yaml:6:15 services.db.volumes[0]: volume "x" is not declared in the top-level "volumes" (a path to a repository file starts with "./")',
      'compose.yaml:7:40 services.db.deploy.preemptible: 2 is more than replicas (1)'
    ])
    expect(await errors({ files, compose: ['compose.yaml', 'broken.yaml', 'missing.yaml'] })).toEqual([
      'broken.yaml:2:1 (yaml): YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'missing.yaml:1:1 (file): file not found'
    ])
  })

  it('stops an alias expansion bomb with an error instead of running out of memory', async () => {
    const lines = ['x-a: &a [1,1,1,1,1,1,1,1,1,1]']
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f']
    ]) {
      lines.push(`x-${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`)
    }
    const result = await errors({
      files: { 'compose.yaml': `${lines.join('\n')}\nservices:\n  web:\n    image: nginx\n` }
    })
    expect(result).toHaveLength(1)
    expect(result[0]).toMatch(
      /^compose\.yaml:\d+:\d+ \(yaml\): the document expands to more than 100000 values \(through aliases\?\)$/
    )
  })
})
