/**
 * Security defaults of a deployed stack, read back from the emulated AWS through the SDK:
 * IMDSv2 in every launch template version, ingress open to the internet only for deploy.public,
 * a DNS updater that may change records of its own zone only, environment values that never
 * reach logs, outputs or the job summary, and compose values that reach the container only as
 * data: the deployed user data is decoded and run in a sandbox, and a value crafted to break out
 * of it (quotes, $(...), backticks, newlines, a line EOF, unicode) comes out byte-identical.
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam'
import type { ActionRun } from '../emulator/github-runner.js'
import type { Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'
import { ROLE_POLICY_NAME, functionName, roleName } from '../src/names.js'
import { emulator, runOk, SCOPE } from './helpers/reliability.js'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { AgentConfig } from '../src/agent/config.js'

const MARKERS = mkdtempSync(path.join(tmpdir(), 'hyperform-breakout-'))
/** Would create files in MARKERS if any shell ever evaluated it. */
const BREAKOUT = [
  `it's "quoted" and 'single' $(touch ${MARKERS}/dollar-paren) \`touch ${MARKERS}/backtick\``,
  'EOF',
  "'EOF'",
  `"; touch ${MARKERS}/semicolon; echo "`,
  '${HOME} $$ \\n \\ %s %d',
  'ünïcødé 日本語 🚀 \u2028 end',
  ''
].join('\n')
const SECRETS = { API_TOKEN: 'tok-5f2b9c1e-d00d-secret', DB_PASSWORD: 'pw-h4rd-to-guess-0192' }
const ROTATED = 'tok-rotated-77aa-secret'
const COMMAND = ['sh', '-c', `echo "$(id)" \`uname\` ${MARKERS}/never`]

/** Compose interpolation reads `$`: a literal dollar is `$$`. JSON strings are YAML flow scalars. */
const yamlString = (value: string): string => JSON.stringify(value.replace(/\$/g, '$$$$')).replace(/\u2028/g, '\\u2028')

function compose(token: string): string {
  return [
    'services:',
    '  web:',
    '    image: nginx:1.27',
    '    ports: ["80:80"]',
    '    deploy:',
    '      public: true',
    '  api:',
    '    image: registry.example.com/team/api:1.0',
    '    ports: ["8080:8080"]',
    '    expose: ["9090"]',
    `    command: [${COMMAND.map(yamlString).join(', ')}]`,
    '    environment:',
    `      API_TOKEN: ${yamlString(token)}`,
    `      DB_PASSWORD: ${yamlString(SECRETS.DB_PASSWORD)}`,
    `      BREAKOUT: ${yamlString(BREAKOUT)}`,
    ''
  ].join('\n')
}

const SCOPE_SEC = { ...SCOPE, stack: 'st-secure' }
let emu: Emulator
let ec2: EC2Client
let iam: IAMClient
const runs: ActionRun[] = []
let workspace: string

beforeAll(async () => {
  emu = await emulator()
  const config = sdkConfig(emu, { maxAttempts: 3 })
  ec2 = new EC2Client(config)
  iam = new IAMClient(config)
  workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-secure-'))
  writeFileSync(path.join(workspace, 'compose.yaml'), compose(SECRETS.API_TOKEN))
  const inputs = { stack: SCOPE_SEC.stack, 'compose-file': 'compose.yaml' }
  runs.push(await runOk({ emulator: emu, workspace, inputs }))
  // A second deploy with a rotated secret: the update path (new template version, instance refresh).
  writeFileSync(path.join(workspace, 'compose.yaml'), compose(ROTATED))
  runs.push(await runOk({ emulator: emu, workspace, inputs: { ...inputs, wait: 'false' } }))
  await emu.waitIdle()
}, 120_000)

afterAll(async () => {
  ec2.destroy()
  iam.destroy()
  await emu.stop()
})

async function templateVersions(): Promise<Array<{ name: string; version: number; data: Record<string, unknown> }>> {
  const templates = await ec2.send(
    new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:hyperform:stack', Values: [SCOPE_SEC.stack] }] })
  )
  const out: Array<{ name: string; version: number; data: Record<string, unknown> }> = []
  for (const t of templates.LaunchTemplates ?? []) {
    const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: t.LaunchTemplateId }))
    for (const v of versions.LaunchTemplateVersions ?? []) {
      out.push({
        name: t.LaunchTemplateName ?? '',
        version: v.VersionNumber ?? 0,
        data: (v.LaunchTemplateData ?? {}) as Record<string, unknown>
      })
    }
  }
  return out
}

describe('security defaults of a deployed stack', () => {
  test('every version of every launch template requires IMDSv2 session tokens', async () => {
    const versions = await templateVersions()
    expect(versions.map((v) => `${v.name} v${v.version}`).sort()).toEqual([
      'hyperform-prj-demo-st-secure-api v1',
      'hyperform-prj-demo-st-secure-api v2',
      'hyperform-prj-demo-st-secure-web v1'
    ])
    for (const v of versions) {
      expect({ template: `${v.name} v${v.version}`, options: v.data.MetadataOptions }).toEqual({
        template: `${v.name} v${v.version}`,
        options: expect.objectContaining({
          HttpTokens: 'required',
          HttpEndpoint: 'enabled',
          InstanceMetadataTags: 'enabled'
        }) as unknown
      })
    }
  })

  test('only the deploy.public service opens its published port to 0.0.0.0/0; every other ingress is limited to the VPC', async () => {
    const out = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:hyperform:stack', Values: [SCOPE_SEC.stack] }] })
    )
    const ingress = (out.SecurityGroups ?? [])
      .flatMap((g) =>
        (g.IpPermissions ?? []).flatMap((p) => [
          ...(p.IpRanges ?? []).map(
            (r) => `${g.GroupName ?? ''} ${p.IpProtocol ?? ''} ${p.FromPort ?? ''} ${r.CidrIp ?? ''}`
          ),
          ...(p.Ipv6Ranges ?? []).map(
            (r) => `${g.GroupName ?? ''} ${p.IpProtocol ?? ''} ${p.FromPort ?? ''} ${r.CidrIpv6 ?? ''}`
          ),
          ...(p.UserIdGroupPairs ?? []).map(
            (r) => `${g.GroupName ?? ''} ${p.IpProtocol ?? ''} ${p.FromPort ?? ''} ${r.GroupId ?? ''}`
          )
        ])
      )
      .sort()
    expect(ingress).toEqual([
      'hyperform-prj-demo-st-secure-api tcp 8080 172.28.0.0/16',
      'hyperform-prj-demo-st-secure-api tcp 9090 172.28.0.0/16',
      'hyperform-prj-demo-st-secure-web tcp 80 0.0.0.0/0'
    ])
  })

  test("the DNS updater's inline policy allows record changes only on its own zone, and nothing but reads on any other resource", async () => {
    const zoneId = runs[0]?.outputs['hosted-zone-id'] ?? ''
    expect(zoneId).toMatch(/^Z[0-9A-Z]+$/)
    const out = await iam.send(
      new GetRolePolicyCommand({ RoleName: roleName(SCOPE_SEC), PolicyName: ROLE_POLICY_NAME })
    )
    const document = JSON.parse(decodeURIComponent(out.PolicyDocument ?? '')) as {
      Statement: Array<{ Effect: string; Action: string | string[]; Resource: string | string[] }>
    }
    const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v])
    for (const s of document.Statement) expect(s.Effect).toBe('Allow')
    const grants = document.Statement.flatMap((s) =>
      list(s.Action).flatMap((action) => list(s.Resource).map((resource) => ({ action, resource })))
    )
    const recordWrites = grants.filter((g) => /^route53:(ChangeResourceRecordSets|\*)$|^\*$/.test(g.action))
    expect(recordWrites).toEqual([
      { action: 'route53:ChangeResourceRecordSets', resource: `arn:aws:route53:::hostedzone/${zoneId}` }
    ])
    expect(grants.filter((g) => g.action.includes('*'))).toEqual([])
    // Other Route 53 grants: reading its own zone's records, and change status (change ids are not per zone).
    const zone = `arn:aws:route53:::hostedzone/${zoneId}`
    expect(
      grants.filter(
        (g) =>
          g.action.startsWith('route53:') &&
          g.resource !== zone &&
          !(g.action === 'route53:GetChange' && g.resource === 'arn:aws:route53:::change/*')
      )
    ).toEqual([])
    // On every resource ('*'): only reading instances, and which of them are in service in their groups.
    expect(grants.filter((g) => g.resource === '*').map((g) => g.action)).toEqual([
      'ec2:DescribeInstances',
      'autoscaling:DescribeAutoScalingInstances'
    ])
    // SQS: draining its own queue only
    const queue = `arn:aws:sqs:${SCOPE_SEC.region}:123456789012:${functionName(SCOPE_SEC)}`
    expect(grants.filter((g) => g.action.startsWith('sqs:')).map((g) => g.resource)).toEqual(Array(4).fill(queue))
    expect(
      grants
        .filter((g) => g.action.startsWith('sqs:'))
        .map((g) => g.action)
        .sort()
    ).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'])
    expect([...new Set(grants.map((g) => g.action.split(':')[0]))].sort()).toEqual([
      'autoscaling',
      'ec2',
      'logs',
      'route53',
      'sqs'
    ])
  })

  test('environment values never appear in stdout, stderr, outputs or the job summary, except on ::add-mask:: lines', () => {
    const values = [...Object.values(SECRETS), ROTATED, ...BREAKOUT.split('\n')].filter(
      (line) => line.trim().length >= 6
    )
    expect(values.length).toBeGreaterThan(6)
    expect(runs).toHaveLength(2)
    const leaks: string[] = []
    runs.forEach((r, i) => {
      const texts: Record<string, string> = {
        stdout: r.stdout,
        stderr: r.stderr,
        summary: r.summary,
        ...Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [`output ${k}`, v]))
      }
      for (const [where, text] of Object.entries(texts)) {
        for (const line of text.split('\n')) {
          if (where === 'stdout' && line.startsWith('::add-mask::')) continue
          for (const value of values)
            if (line.includes(value)) leaks.push(`run ${i + 1} ${where}: ${JSON.stringify(value)}`)
        }
      }
    })
    expect(leaks).toEqual([])
    // The values are registered as secrets, so a runner masks them wherever they might show.
    const masked =
      runs[1]?.stdout
        .split('\n')
        .filter((l) => l.startsWith('::add-mask::'))
        .map((l) => l.slice('::add-mask::'.length)) ?? []
    expect(masked).toEqual(expect.arrayContaining([ROTATED, SECRETS.DB_PASSWORD]))
  })

  test('a compose value crafted to break out of the user data stays out of it, and reaches the instance agent and the container byte-identical', async () => {
    const versions = await templateVersions()
    const api = versions.filter((v) => v.name.endsWith('-api')).sort((a, b) => b.version - a.version)[0]
    const web = versions.find((v) => v.name.endsWith('-web'))
    expect(api && web).toBeTruthy()
    const script = Buffer.from(String(api?.data.UserData ?? ''), 'base64').toString('utf8')
    const plain = Buffer.from(String(web?.data.UserData ?? ''), 'base64').toString('utf8')
    // The same constant script for any service, but for the configuration it names.
    const constant = (text: string): string => text.replace(/^HYPERFORM_CONFIG=.*$/m, '')
    expect(constant(script)).toBe(constant(plain))
    // Outside the agent's blob (constant, base64: 'EOF' may occur in it by chance, as any three letters).
    const outside = script.replace(/'[A-Za-z0-9+/]{200,}={0,2}'/g, "'<agent>'")
    expect(outside).toContain("'<agent>'")
    for (const fragment of ['touch', 'EOF', '日本語', 'quoted', MARKERS, 'API_TOKEN', ROTATED, 'registry.example.com'])
      expect(outside).not.toContain(fragment)

    // The configuration the user data names holds the values as they were written.
    const name = /^HYPERFORM_CONFIG=(\S+)$/m.exec(script)?.[1] ?? ''
    const ssm = new SSMClient(sdkConfig(emu, { region: SCOPE.region }))
    try {
      const config = JSON.parse(
        (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value ?? '{}'
      ) as AgentConfig
      expect(config.environment).toEqual({ API_TOKEN: ROTATED, DB_PASSWORD: SECRETS.DB_PASSWORD, BREAKOUT })
      expect(config.command).toEqual(COMMAND)
      expect(config.image).toBe('registry.example.com/team/api:1.0')
    } finally {
      ssm.destroy()
    }
    // The agent stand-in read it with the instance role: the container gets the same bytes.
    const containers = (await (await fetch(`${emu.endpoint}/_emulator/containers`)).json()) as Array<{
      image: string
      spec?: { env?: Record<string, string> }
    }>
    const running = containers.filter((c) => c.image === 'registry.example.com/team/api:1.0' && c.spec)
    expect(running.length).toBeGreaterThan(0)
    // (the second run rotated the token with wait: false, so some containers may still run the first one)
    for (const c of running) {
      expect(c.spec?.env?.BREAKOUT).toBe(BREAKOUT)
      expect([SECRETS.API_TOKEN, ROTATED]).toContain(c.spec?.env?.API_TOKEN)
    }
    // Nothing in the values was evaluated by a shell.
    expect(readdirSync(MARKERS)).toEqual([])
    expect(existsSync(path.join(MARKERS, 'dollar-paren'))).toBe(false)
  })
})
