/**
 * The instance agent script (agent/agent.sh), run for real with bash and the real AWS CLI against
 * the emulator, as an instance would: credentials only from the instance metadata service (the
 * instance role's), docker replaced by a stand-in that records what it is asked. Checked: the
 * `docker run` argv, that values travel only through docker's environment and the secret files,
 * the registry login, the AWS calls the agent made, a parameter the role may not read, `stop`,
 * and a pull that keeps failing.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr'
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { authorizeImagePull } from '../emulator/services/ecr/index.js'
import { eventually, sdkConfig } from '../emulator/testing.js'
import type { CallRecord } from '../emulator/types.js'
import type { AgentConfig } from '../src/agent/config.js'
import { configParameterName, containerLogGroupName, instanceRoleName } from '../src/names.js'
import { buildUserData } from '../src/userdata.js'
import { dockerStandIn, type DockerCall, type StandInImage } from './helpers/docker-stand-in.js'

const AGENT = fileURLToPath(new URL('../agent/agent.sh', import.meta.url))
const REGION = 'us-east-1'
const SCOPE = { project: 'prj', stack: 'st', region: REGION }
const WEB_CONFIG = configParameterName(SCOPE, 'web')
const API_CONFIG = configParameterName(SCOPE, 'api')
const DB_URL_PARAMETER = '/hyperform/prj/st/shared/db-url'
const LOG_GROUP = containerLogGroupName(SCOPE)

/** Values that must reach the container and nothing else (no argv, no log line). */
const VALUES = {
  greeting: ` it's "quoted" $(touch never) \`reboot\`\nsecond line\n`,
  dotted: 'dotted-value-7c1e ünïcødé 日本語 🚀',
  dbUrl: 'postgres://app:pw-9f3a1c@db.internal:5432/app\n',
  dbPassword: 'db-password-4e8b2d 🔑\n',
  apiKey: 'inline-api-key-0d6f5a',
  apiMarker: 'api-config-marker-61b2'
}

/** Exec form whose arguments a shell would otherwise expand or split: a quote, `$`, `$(...)`, a newline. */
const HEALTH_ARGS = ['%s|', "it's", '$HOME $(touch never) `id`', 'a\nb', '']
const HEALTHCHECK = {
  test: ['CMD', 'printf', ...HEALTH_ARGS],
  intervalMs: 30_000,
  timeoutMs: 500,
  startPeriodMs: 90_000,
  startIntervalMs: 1_000,
  retries: 5
}

const SHELL_CHECK = { test: ['CMD-SHELL', `curl -f "http://localhost/$PORT" || exit 1`], retries: 0 }

let emu: Emulator
let control: EmulatorClient
let work: string
let account: string
let registry: string
let secretArn: string
/** The `web` instance and its metadata service. */
let instanceId: string

function webConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    version: 1,
    service: 'web',
    image: `${registry}/prj/web:1.4`,
    registry: { host: registry, region: REGION },
    command: ['serve', '--port', '8080'],
    entrypoint: ['/bin/app', '--verbose'],
    ports: ['8080:8080/tcp', '9090:9090/udp'],
    dns: '172.28.0.2',
    dnsSearch: ['st.prj.us-east-1.internal', 'prj.us-east-1.internal'],
    environment: { GREETING: VALUES.greeting, 'dotted.name': VALUES.dotted },
    environmentFrom: { DATABASE_URL: { ssm: DB_URL_PARAMETER } },
    secrets: [
      {
        name: 'db_password',
        target: '/run/secrets/db_password',
        mode: '0400',
        uid: String(process.getuid?.() ?? 0),
        gid: String(process.getgid?.() ?? 0),
        from: { secret: secretArn }
      },
      { name: 'api_key', target: '/etc/app/api-key', mode: '0444', value: VALUES.apiKey }
    ],
    restart: 'on-failure:3',
    stopSignal: 'SIGINT',
    stopGracePeriod: 20,
    logging: {
      driver: 'awslogs',
      group: LOG_GROUP,
      region: REGION,
      streamPrefix: 'web',
      options: { mode: 'non-blocking', 'max-buffer-size': '4m' }
    },
    awsCredentials: false,
    ...overrides
  }
}

/** The policy a `web` instance gets: its own parameter, its references, its repository, its log streams. */
function instancePolicy(): object {
  const ssmArn = (name: string) => `arn:aws:ssm:${REGION}:${account}:parameter${name}`
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: [ssmArn(WEB_CONFIG), ssmArn(DB_URL_PARAMETER)] },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        Resource: `arn:aws:ecr:${REGION}:${account}:repository/prj/web`
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:${REGION}:${account}:log-group:${LOG_GROUP}:log-stream:web/*`
      }
    ]
  }
}

/**
 * An instance as a deploy makes it: a role EC2 may assume (with `policy`, if given), an instance
 * profile of the same name, and the user data. Returns its id; its IMDS is imdsOf(id).
 */
async function launch(role: string, policy?: object): Promise<string> {
  const admin = sdkConfig(emu)
  const iam = new IAMClient(admin)
  const ec2 = new EC2Client(admin)
  try {
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
    }
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }))
    if (policy) await grant(role, policy)
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }))
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }))
    const launched = await ec2.send(
      new RunInstancesCommand({
        MinCount: 1,
        MaxCount: 1,
        ImageId: 'ami-0a2023a1b2c3d4e5f',
        IamInstanceProfile: { Name: role },
        UserData: buildUserData({ region: REGION, config: { name: WEB_CONFIG, version: 1 } })
      })
    )
    return launched.Instances?.[0]?.InstanceId ?? ''
  } finally {
    iam.destroy()
    ec2.destroy()
  }
}

async function grant(role: string, policy: object): Promise<void> {
  const iam = new IAMClient(sdkConfig(emu))
  try {
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: 'agent', PolicyDocument: JSON.stringify(policy) })
    )
  } finally {
    iam.destroy()
  }
}

const imdsOf = (id: string): string => `${emu.endpoint}/_emulator/imds/${id}`

interface AgentRun {
  code: number | null
  stdout: string
  stderr: string
  docker: DockerCall[]
  calls: CallRecord[]
  run: string
}

/** Runs `bash agent/agent.sh <command>` as the instance would, in a fresh directory unless `dir` is given. */
async function agent(
  command: 'start' | 'stop',
  options: {
    config?: string
    images?: StandInImage[]
    dir?: string
    attempts?: number
    delay?: number
    instance?: string
    onSpawn?: () => void
  } = {}
): Promise<AgentRun> {
  const dir = options.dir ?? mkdtempSync(path.join(work, 'instance-'))
  const etc = path.join(dir, 'etc')
  const run = path.join(dir, 'run')
  mkdirSync(etc, { recursive: true })
  writeFileSync(
    path.join(etc, 'agent.env'),
    `HYPERFORM_REGION=${REGION}\nHYPERFORM_CONFIG=${options.config ?? `${WEB_CONFIG}:1`}\n`
  )
  const docker = dockerStandIn(dir, options.images)
  // No static credentials anywhere: the CLI must take the instance role's from the metadata service.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')))
  const env = {
    ...inherited,
    ...docker.env,
    PATH: `${docker.bin}:${process.env.PATH ?? ''}`,
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
    HYPERFORM_ETC: etc,
    HYPERFORM_RUN: run,
    HYPERFORM_IMDS: imdsOf(options.instance ?? instanceId),
    HYPERFORM_AWS_ENDPOINT: emu.endpoint,
    HYPERFORM_ATTEMPTS: String(options.attempts ?? 3),
    HYPERFORM_RETRY_DELAY: String(options.delay ?? 0)
  }
  await control.resetCalls()
  const child = spawn('bash', [AGENT, command], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  options.onSpawn?.()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr, docker: docker.calls(), calls: await control.calls(), run }
}

const ops = (calls: CallRecord[]) =>
  calls.map((c) => `${c.service}:${c.operation}${c.errorCode ? ` ${c.errorCode}` : ''}`)

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'hyperform-agent-'))
  // the real script is the agent here: the emulator runs no stand-in beside it
  emu = await startEmulator({ simulation: { agentStandIn: false } })
  control = new EmulatorClient(emu.endpoint)
  account = emu.accountId
  registry = `${account}.dkr.ecr.${REGION}.amazonaws.com`
  const admin = sdkConfig(emu)
  const ssm = new SSMClient(admin)
  const sm = new SecretsManagerClient(admin)
  const ecr = new ECRClient(admin)
  try {
    for (const repositoryName of ['prj/web', 'prj/api']) await ecr.send(new CreateRepositoryCommand({ repositoryName }))
    const secret = await sm.send(
      new CreateSecretCommand({ Name: 'prj/st/db-password', SecretString: VALUES.dbPassword })
    )
    secretArn = secret.ARN ?? ''
    await ssm.send(new PutParameterCommand({ Name: DB_URL_PARAMETER, Value: VALUES.dbUrl, Type: 'SecureString' }))
    await ssm.send(
      new PutParameterCommand({ Name: WEB_CONFIG, Value: JSON.stringify(webConfig()), Type: 'SecureString' })
    )
    const api = webConfig({ service: 'api', environment: { MARKER: VALUES.apiMarker } })
    await ssm.send(new PutParameterCommand({ Name: API_CONFIG, Value: JSON.stringify(api), Type: 'SecureString' }))
    // Version 2 of web's parameter: a configuration this agent does not read.
    await ssm.send(
      new PutParameterCommand({
        Name: WEB_CONFIG,
        Value: JSON.stringify({ ...webConfig(), version: 2 }),
        Type: 'SecureString',
        Overwrite: true
      })
    )
    // Versions 3 to 6: a healthcheck in exec form, a disabled one, a shell one, test NONE.
    for (const healthcheck of [HEALTHCHECK, { disable: true as const }, SHELL_CHECK, { test: ['NONE'] }])
      await ssm.send(
        new PutParameterCommand({
          Name: WEB_CONFIG,
          Value: JSON.stringify(webConfig({ healthcheck })),
          Type: 'SecureString',
          Overwrite: true
        })
      )
  } finally {
    ssm.destroy()
    sm.destroy()
    ecr.destroy()
  }
  instanceId = await launch(instanceRoleName(SCOPE, 'web'), instancePolicy())
})

afterAll(async () => {
  await emu?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('the instance agent script', () => {
  let started: AgentRun

  beforeAll(async () => {
    started = await agent('start')
  })

  test('starts the container with the configuration as docker run arguments, values by name only', () => {
    expect(started.stderr).toContain('container web started')
    expect(started.code).toBe(0)
    const run = started.docker.find((c) => c.command === 'run')
    const secrets = path.join(started.run, 'secrets')
    expect(run?.args).toEqual([
      '-d',
      ...['--name', 'web', '--restart', 'on-failure:3', '--stop-signal', 'SIGINT', '--stop-timeout', '20'],
      ...['--dns', '172.28.0.2', '--dns-search', 'st.prj.us-east-1.internal', '--dns-search', 'prj.us-east-1.internal'],
      ...['-p', '8080:8080/tcp', '-p', '9090:9090/udp'],
      ...['-e', 'GREETING', '-e', 'dotted.name', '-e', 'DATABASE_URL'],
      '--mount',
      `type=bind,source=${secrets}/db_password,target=/run/secrets/db_password,readonly`,
      '--mount',
      `type=bind,source=${secrets}/api_key,target=/etc/app/api-key,readonly`,
      ...[
        '--log-driver',
        'awslogs',
        '--log-opt',
        `awslogs-region=${REGION}`,
        '--log-opt',
        `awslogs-group=${LOG_GROUP}`
      ],
      ...['--log-opt', `awslogs-stream=web/${instanceId}`],
      ...['--log-opt', 'mode=non-blocking', '--log-opt', 'max-buffer-size=4m'],
      ...['--entrypoint', '/bin/app'],
      `${registry}/prj/web:1.4`,
      ...['--verbose', 'serve', '--port', '8080']
    ])
  })

  test('talks to the local daemon socket with its own client configuration, whatever the environment says', () => {
    for (const call of started.docker) {
      expect(call.global).toEqual([
        '--host',
        'unix:///var/run/docker.sock',
        '--config',
        path.join(started.run, 'docker')
      ])
    }
  })

  test('docker receives every environment value byte for byte through its environment, none on any command line', () => {
    const run = started.docker.find((c) => c.command === 'run')
    expect(run?.env).toEqual({ GREETING: VALUES.greeting, 'dotted.name': VALUES.dotted, DATABASE_URL: VALUES.dbUrl })
    const argvs = started.docker.map((c) => c.argv.join('\0')).join('\n')
    for (const value of Object.values(VALUES)) {
      expect(argvs).not.toContain(value.trim())
      expect(started.stdout + started.stderr).not.toContain(value.trim())
    }
  })

  test('writes each secret to a root-only file with its mode and owner, mounted read-only at its target', () => {
    const secrets = path.join(started.run, 'secrets')
    expect(statSync(secrets).mode & 0o777).toBe(0o700)
    const db = path.join(secrets, 'db_password')
    expect(readFileSync(db, 'utf8')).toBe(VALUES.dbPassword)
    expect(statSync(db).mode & 0o777).toBe(0o400)
    expect(statSync(db).uid).toBe(process.getuid?.())
    const api = path.join(secrets, 'api_key')
    expect(readFileSync(api, 'utf8')).toBe(VALUES.apiKey)
    expect(statSync(api).mode & 0o777).toBe(0o444)
  })

  test('logs in to the registry as AWS with the password on stdin, pulls, and replaces a previous container', () => {
    expect(started.docker.map((c) => c.command)).toEqual(['login', 'pull', 'rm', 'run'])
    expect(started.docker[0]?.login).toEqual({ user: 'AWS', host: registry, passwordFromStdin: true })
    expect(started.docker[1]?.args).toEqual(['--quiet', `${registry}/prj/web:1.4`])
    expect(started.docker[2]?.args).toEqual(['-f', 'web'])
  })

  test("the registry login, kept in the agent's run directory, may pull the service's repository and no other", () => {
    const config = JSON.parse(readFileSync(path.join(started.run, 'docker', 'config.json'), 'utf8')) as {
      auths: Record<string, { auth: string }>
    }
    const auth = config.auths[registry]?.auth ?? ''
    expect(authorizeImagePull(emu.cloud, auth, `${registry}/prj/web:1.4`)).toMatchObject({ allowed: true })
    expect(authorizeImagePull(emu.cloud, auth, `${registry}/prj/api:1.0`)).toMatchObject({
      allowed: false,
      reason: 'denied'
    })
  })

  test('reads its configuration, the referenced parameter and secret, and a registry token, as the instance role', () => {
    expect(ops(started.calls)).toEqual([
      'ssm:GetParameter',
      'ssm:GetParameter',
      'secretsmanager:GetSecretValue',
      'ecr:GetAuthorizationToken'
    ])
    for (const call of started.calls) expect(call.caller).toBe(`instance-${instanceId}`)
  })

  test('stop gives the container its grace period (the stop signal was set at run)', async () => {
    const dir = path.dirname(started.run)
    const stopped = await agent('stop', { dir })
    expect(stopped.code).toBe(0)
    const stop = stopped.docker.at(-1)
    expect(stop?.command).toBe('stop')
    expect(stop?.args).toEqual(['--time', '20', 'web'])
  })

  test('a role not yet usable for its configuration (IAM still propagating) is retried until it is', async () => {
    const role = 'hyperform-prj-st-late-us-east-1'
    const late = await launch(role)
    let granted: Promise<void> = Promise.resolve()
    const run = await agent('start', {
      instance: late,
      attempts: 6,
      delay: 1,
      onSpawn: () => {
        // Granted once the agent has been denied, as a role that becomes usable a moment after launch.
        granted = eventually(
          async () => ((await control.calls()).some((c) => c.errorCode === 'AccessDeniedException') ? true : undefined),
          20_000
        ).then(() => grant(role, instancePolicy()))
      }
    })
    await granted
    expect(run.stderr).toContain(
      `reading configuration parameter ${WEB_CONFIG}:1 failed (attempt 1 of 6), retrying in 1s`
    )
    expect(run.code).toBe(0)
    const reads = ops(run.calls).filter((o) => o.startsWith('ssm:GetParameter'))
    expect(reads[0]).toBe('ssm:GetParameter AccessDeniedException')
    expect(reads.at(-1)).toBe('ssm:GetParameter')
    expect(run.docker.map((c) => c.command)).toEqual(['login', 'pull', 'rm', 'run'])
  })

  test("another service's configuration is denied: the agent exits 4 naming the parameter, never its value", async () => {
    const denied = await agent('start', { config: `${API_CONFIG}:1`, attempts: 2 })
    expect(denied.code).toBe(4)
    expect(denied.stderr).toContain(`cannot read configuration parameter ${API_CONFIG}:1`)
    expect(denied.stderr).not.toContain(VALUES.apiMarker)
    expect(ops(denied.calls)).toEqual([
      'ssm:GetParameter AccessDeniedException',
      'ssm:GetParameter AccessDeniedException'
    ])
    expect(denied.docker).toEqual([])
  })

  test('a configuration of another version of the shape is refused (exit 5) before anything runs', async () => {
    const refused = await agent('start', { config: `${WEB_CONFIG}:2` })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('version is not 1')
    expect(refused.docker).toEqual([])
  })

  test('a healthcheck in exec form reaches docker run as one shell command that gives the program its arguments', async () => {
    const checked = await agent('start', { config: `${WEB_CONFIG}:3` })
    expect(checked.code).toBe(0)
    expect(checked.stdout + checked.stderr).not.toContain('touch never')
    const args = checked.docker.find((c) => c.command === 'run')?.args ?? []
    const health = args.filter((a) => a.startsWith('--health-'))
    expect(health).toEqual([
      `--health-cmd='printf' '%s|' 'it'\\''s' '$HOME $(touch never) \`id\`' 'a\nb' ''`,
      '--health-interval=30000ms',
      '--health-timeout=500ms',
      '--health-start-period=90000ms',
      '--health-start-interval=1000ms',
      '--health-retries=5'
    ])
    // Just before the entrypoint and image; nothing else changes.
    expect(args.indexOf(health[0]!)).toBe(args.indexOf('--entrypoint') - health.length)
    // The container's shell runs it: printf gets exactly the configured arguments.
    const cwd = mkdtempSync(path.join(work, 'health-'))
    const shell = spawnSync('/bin/sh', ['-c', health[0]!.slice('--health-cmd='.length)], { cwd, encoding: 'utf8' })
    expect(shell.stdout).toBe(
      HEALTH_ARGS.slice(1)
        .map((a) => `${a}|`)
        .join('')
    )
    expect(readdirSync(cwd)).toEqual([])
  })

  test.each([
    ['disable', 4],
    ['test NONE', 6]
  ])('a healthcheck disabled by %s is docker run --no-healthcheck and no other health flag', async (_, version) => {
    const disabled = await agent('start', { config: `${WEB_CONFIG}:${version}` })
    expect(disabled.code).toBe(0)
    const args = disabled.docker.find((c) => c.command === 'run')?.args ?? []
    expect(args.filter((a) => a.includes('health'))).toEqual(['--no-healthcheck'])
  })

  test('a CMD-SHELL healthcheck is the command as it is', async () => {
    const shell = await agent('start', { config: `${WEB_CONFIG}:5` })
    expect(shell.code).toBe(0)
    const args = shell.docker.find((c) => c.command === 'run')?.args ?? []
    expect(args.filter((a) => a.startsWith('--health-'))).toEqual([
      `--health-cmd=${SHELL_CHECK.test[1]}`,
      '--health-retries=0'
    ])
  })

  test('an image whose pull is denied fails the start (exit 8) after its retries, and nothing runs', async () => {
    const image = `${registry}/prj/web:1.4`
    const failed = await agent('start', { images: [{ image, pull: 'denied' }], attempts: 3 })
    expect(failed.code).toBe(8)
    expect(failed.docker.filter((c) => c.command === 'pull')).toHaveLength(3)
    expect(failed.docker.some((c) => c.command === 'run')).toBe(false)
    expect(failed.stderr).toContain('pull access denied')
    expect(failed.stderr).toContain(`cannot pull image ${image}`)
  })
})
