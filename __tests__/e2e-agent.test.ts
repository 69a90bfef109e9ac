/**
 * End to end, the instance agent: the bundled action deploys the seed example with its
 * wordpress image in ECR; the emulator's agent stand-in on every instance reads the service's
 * configuration, fetches an ECR token and writes the container's log lines, all with the
 * instance role's credentials; `command: logs` prints them. A secret given through the
 * environment reaches the container and nothing else.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { pushImage, sdkConfig } from '../emulator/testing.js'
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2'
import { rmSync } from 'node:fs'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { configParameterName, launchTemplateName, type StackScope } from '../src/names.js'
import {
  FAST_SIMULATION,
  SEED_COMPOSE,
  action,
  awsClients,
  destroyAws,
  stackView,
  until,
  workspace,
  type Aws,
  type Run
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const ECR_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/wordpress:6'
const WP: StackScope = { project: 'prj-demo', stack: 'st-wordpress', region: REGION }
const SECRET = 'hunter2-but-longer-and-unique-7731'
const WAIT = { wait: 'true', 'wait-timeout': '60' }

/** The seed with its wordpress image in ECR and the database password given as a compose secret. */
const COMPOSE = `${SEED_COMPOSE.replace('image: wordpress:latest', `image: ${ECR_IMAGE}`)
  .replace('MYSQL_PASSWORD: password', 'MYSQL_PASSWORD_FILE: /run/secrets/db_password')
  .replace('WORDPRESS_DB_PASSWORD: password', 'WORDPRESS_DB_PASSWORD_FILE: /run/secrets/db_password')
  .replace(
    '     environment:\n       MYSQL_DATABASE',
    '     secrets: [db_password]\n     environment:\n       MYSQL_DATABASE'
  )
  .replace(
    '     environment:\n       WORDPRESS_DB_HOST',
    '     secrets: [db_password]\n     environment:\n       WORDPRESS_DB_HOST'
  )}
secrets:
  db_password:
    environment: DB_PASSWORD
`

interface Container {
  state: string
  image: string
  spec?: unknown
  error?: string
}

let emulator: Emulator
let aws: Aws
let work: string
const runs: Array<{ name: string; run: Run }> = []

async function containers(): Promise<Record<string, Container>> {
  const res = await fetch(`${emulator.endpoint}/_emulator/containers`)
  const body = (await res.json()) as Record<string, Container> | Array<Container & { instanceId: string }>
  return Array.isArray(body) ? Object.fromEntries(body.map((c) => [c.instanceId, c])) : body
}

beforeAll(async () => {
  // long enough that the groups, made right after the profiles, are refused even on a busy machine
  emulator = await startEmulator({ simulation: { ...FAST_SIMULATION, instanceProfileDelayMs: 3000 } })
  aws = awsClients(emulator, REGION)
  // the image's repository, as the user's registry has it, with the image pushed
  const ecr = new ECRClient(sdkConfig(emulator, { region: REGION }))
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'wordpress' }))
  await pushImage(ecr, 'wordpress', '6')
  ecr.destroy()
  work = workspace({ 'compose.yaml': COMPOSE })
  const deploy = await action({
    emulator,
    region: REGION,
    workspace: work,
    inputs: { project: WP.project, stack: WP.stack, ...WAIT },
    env: { DB_PASSWORD: SECRET }
  })
  runs.push({ name: 'deploy', run: deploy })
}, 120_000)

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('the instance agent, end to end', () => {
  test('each wordpress instance fetched an ECR token with its own instance role and runs the image', async () => {
    const view = await stackView(aws, WP)
    const wordpress = view.instances.filter((i) => i.service === 'wordpress' && i.state === 'running')
    expect(wordpress).toHaveLength(2)
    const all = await until(
      async () => {
        const now = await containers()
        return wordpress.every((i) => now[i.id]?.state === 'running') ? now : undefined
      },
      async () => JSON.stringify(await containers())
    )
    for (const instance of wordpress) expect(all[instance.id]?.image).toBe(ECR_IMAGE)
    const tokens = emulator.calls().filter((c) => c.operation === 'GetAuthorizationToken' && c.status === 200)
    // One per wordpress instance, each signed by a session of the wordpress role (never the action's key).
    expect(tokens.length).toBeGreaterThanOrEqual(2)
    expect(tokens.every((c) => c.caller !== 'AKIAE2EACTION')).toBe(true)
  })

  test("IAM's propagation delay refused the first launch templates naming the new profiles, and the deploy rode it out", () => {
    const deploy = runs.find((r) => r.name === 'deploy')?.run
    const refused = (deploy?.calls ?? []).filter(
      (c) => c.operation === 'CreateAutoScalingGroup' && c.errorCode === 'ValidationError'
    )
    expect(refused.length).toBeGreaterThan(0)
    expect(deploy?.code).toBe(0)
  })

  test('command: logs prints the started line of both wordpress containers', async () => {
    const logs = await until(
      async () => {
        const run = await action({
          emulator,
          region: REGION,
          workspace: work,
          // no DB_PASSWORD here: a logs step needs no secret of the compose file
          inputs: { project: WP.project, stack: WP.stack, command: 'logs', service: 'wordpress', lines: '10' }
        })
        const started = run.stdout.split('\n').filter((l) => l.includes(`${ECR_IMAGE} started`))
        return started.length >= 2 ? run : undefined
      },
      async () => JSON.stringify(await containers())
    )
    runs.push({ name: 'logs', run: logs })
    expect(logs.stdout).toMatch(/wordpress on i-[0-9a-f]+/)
    expect(logs.stdout).not.toContain('mysql:5.7 started')
  })

  test('the secret reaches the container and appears in no launch template version, user data, plan, log, output or summary', async () => {
    // The container spec (the emulator's view of what docker would get) holds the value as a secret file.
    const all = await containers()
    const specs = Object.values(all)
      .map((c) => JSON.stringify(c.spec ?? {}))
      .filter((s) => s.includes('db_password'))
    expect(specs.length).toBeGreaterThanOrEqual(3)
    expect(specs.every((s) => s.includes(SECRET))).toBe(true)
    const plan = await action({
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: WP.project, stack: WP.stack, command: 'plan' },
      env: { DB_PASSWORD: SECRET }
    })
    runs.push({ name: 'plan', run: plan })
    for (const service of ['db', 'wordpress']) {
      const versions = await aws.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: launchTemplateName(WP, service) })
      )
      for (const version of versions.LaunchTemplateVersions ?? []) {
        expect(JSON.stringify(version)).not.toContain(SECRET)
        const userData = Buffer.from(version.LaunchTemplateData?.UserData ?? '', 'base64').toString('utf8')
        expect(userData).toContain(`HYPERFORM_CONFIG=${configParameterName(WP, service)}:`)
        expect(userData).not.toContain(SECRET)
        expect(userData).not.toContain('MYSQL_DATABASE')
      }
    }
    for (const { name, run } of runs) {
      // (a ::add-mask:: line is how the runner learns the value to hide; it never shows)
      const shown = run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n')
      for (const text of [shown, run.stderr, run.summary, JSON.stringify(run.outputs)])
        expect({ name, leaked: text.includes(SECRET) }).toEqual({ name, leaked: false })
    }
  })

  test("a service's instance role reads its own configuration and is denied the other service's", async () => {
    const view = await stackView(aws, WP)
    const db = view.instances.find((i) => i.service === 'db' && i.state === 'running')
    expect(db).toBeDefined()
    // The instance's credentials, as its metadata service hands them to the AWS CLI.
    const imds = `${emulator.endpoint}/_emulator/imds/${db!.id}`
    const token = await (
      await fetch(`${imds}/latest/api/token`, {
        method: 'PUT',
        headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }
      })
    ).text()
    const headers = { 'X-aws-ec2-metadata-token': token }
    const role = (await (await fetch(`${imds}/latest/meta-data/iam/security-credentials/`, { headers })).text()).trim()
    const creds = (await (
      await fetch(`${imds}/latest/meta-data/iam/security-credentials/${role}`, { headers })
    ).json()) as { AccessKeyId: string; SecretAccessKey: string; Token: string }
    const ssm = new SSMClient({
      endpoint: emulator.endpoint,
      region: REGION,
      maxAttempts: 1,
      credentials: { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.Token }
    })
    try {
      const own = await ssm.send(new GetParameterCommand({ Name: configParameterName(WP, 'db'), WithDecryption: true }))
      expect(JSON.parse(own.Parameter?.Value ?? '{}')).toMatchObject({ service: 'db', image: 'mysql:5.7' })
      await expect(
        ssm.send(new GetParameterCommand({ Name: configParameterName(WP, 'wordpress'), WithDecryption: true }))
      ).rejects.toMatchObject({ name: 'AccessDeniedException' })
    } finally {
      ssm.destroy()
    }
  })

  test('a no-op redeploy writes nothing, and destroy removes the roles, profiles, configurations and log group', async () => {
    const again = await action({
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: WP.project, stack: WP.stack, wait: 'false' },
      env: { DB_PASSWORD: SECRET }
    })
    runs.push({ name: 'redeploy', run: again })
    expect(again.calls.filter((c) => c.kind === 'write').map((c) => c.operation)).toEqual([])
    const destroy = await action({
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: WP.project, stack: WP.stack, command: 'destroy', ...WAIT }
    })
    const deleted = destroy.calls.filter((c) => c.kind === 'write' && c.status < 300).map((c) => c.operation)
    expect(deleted).toEqual(
      expect.arrayContaining([
        'DeleteParameters',
        'DeleteInstanceProfile',
        'RemoveRoleFromInstanceProfile',
        'DeleteRolePolicy',
        'DeleteRole',
        'DeleteLogGroup'
      ])
    )
    const after = await action({
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: WP.project, stack: WP.stack, command: 'plan' },
      env: { DB_PASSWORD: SECRET }
    })
    // Nothing of the stack is left: the plan creates every per-service resource again.
    expect(after.stdout).toMatch(/^create\s+instance-role\s/m)
    expect(after.stdout).toMatch(/^create\s+service-config\s/m)
  })
})
