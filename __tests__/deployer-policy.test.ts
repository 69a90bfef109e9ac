/**
 * docs/deployer-policy.json and docs/deployer-policy-public-endpoints.json against the source:
 * every AWS operation the action sends (`new XxxCommand(` and `paginateXxx(` in src/) and the
 * permissions AWS checks along with it are allowed by a statement of one of them; nothing else
 * is; the resources are the names and tags of src/names.ts; and the public endpoints document
 * holds what only the public endpoints (the `domain` input) need, the core one the rest.
 * A new AWS call without its policy line fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PUBLIC_ENDPOINTS_ACTIONS } from '../src/aws/denied.js'
import { asgName, functionName, logGroupName, LIMITS, MANAGED_BY, roleName, ruleName, TAGS } from '../src/names.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Statement {
  Sid?: string
  Effect: string
  Action: string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string | string[]>>
}

interface Policy {
  Version: string
  Statement: Statement[]
}

const read = (file: string): Policy => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Policy
/** What every run needs: the role's inline policy. */
const CORE = read('docs/deployer-policy.json')
/** What only the public endpoints (the `domain` input) need: a managed policy attached with PublicEndpoints=true. */
const PUBLIC_ENDPOINTS = read('docs/deployer-policy-public-endpoints.json')
/** A role with both: every statement the coverage checks below run against. */
const STATEMENTS = [...CORE.Statement, ...PUBLIC_ENDPOINTS.Statement]

/**
 * The public endpoints' code: the files of their kinds and of their certificates, and in two
 * shared files the calls only they make (the wait for targets, a group's target groups).
 */
const PUBLIC_FILES = new Set(
  [
    'certificate',
    'stack-certificate',
    'load-balancer',
    'load-balancer-security-group',
    'listener',
    'listener-rule',
    'target-group',
    'alias-record'
  ]
    .map((kind) => `src/resources/${kind}.ts`)
    .concat('src/aws/certificates.ts')
)
const PUBLIC_CALLS: Record<string, string[]> = {
  'src/wait.ts': ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth'],
  'src/resources/auto-scaling-group.ts': [
    'autoscaling:AttachLoadBalancerTargetGroups',
    'autoscaling:DetachLoadBalancerTargetGroups'
  ]
}
const isPublicUse = (use: Use): boolean =>
  PUBLIC_FILES.has(use.file) || (PUBLIC_CALLS[use.file] ?? []).includes(use.action)

/** SDK packages -> IAM service prefixes. */
const PREFIX: Record<string, string> = {
  '@aws-sdk/client-acm': 'acm',
  '@aws-sdk/client-auto-scaling': 'autoscaling',
  '@aws-sdk/client-cloudwatch-logs': 'logs',
  '@aws-sdk/client-ec2': 'ec2',
  '@aws-sdk/client-elastic-load-balancing-v2': 'elasticloadbalancing',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-iam': 'iam',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-pricing': 'pricing',
  '@aws-sdk/client-ecr': 'ecr',
  '@aws-sdk/client-route-53': 'route53',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-sts': 'sts'
}

/**
 * What AWS checks besides the operation's own action, for the requests the action makes
 * (each from the service's documentation of the operation).
 */
const ALSO: Record<string, string[]> = {
  // Tags on create are authorized as the tagging action too.
  'iam:CreateRole': ['iam:TagRole'],
  'events:PutRule': ['events:TagResource'],
  'logs:CreateLogGroup': ['logs:TagResource', 'logs:TagLogGroup'],
  'ec2:CreateSecurityGroup': ['ec2:CreateTags'],
  'ec2:CreateLaunchTemplate': ['ec2:CreateTags'],
  // The function's role is passed to Lambda; a tagged function's GetFunction needs ListTags.
  'lambda:CreateFunction': ['iam:PassRole', 'lambda:TagResource'],
  'lambda:UpdateFunctionConfiguration': ['iam:PassRole'],
  'lambda:GetFunction': ['lambda:ListTags'],
  // A private zone: Route 53 reads the VPC.
  'route53:CreateHostedZone': ['ec2:DescribeVpcs'],
  'route53:AssociateVPCWithHostedZone': ['ec2:DescribeVpcs'],
  // A group with a launch template: Auto Scaling checks the caller may launch from it (and tag
  // what it launches), creates its service-linked role on a fresh account, and tags on create.
  'autoscaling:CreateAutoScalingGroup': [
    'autoscaling:CreateOrUpdateTags',
    'ec2:RunInstances',
    'ec2:CreateTags',
    'iam:CreateServiceLinkedRole',
    // the template's instance profile: its role is passed to EC2 by whoever makes the group launch
    'iam:PassRole'
  ],
  'autoscaling:UpdateAutoScalingGroup': ['ec2:RunInstances', 'iam:PassRole'],
  // Tags on create are authorized as the tagging action too.
  'iam:CreateInstanceProfile': ['iam:TagInstanceProfile'],
  'ssm:PutParameter': ['ssm:AddTagsToResource'],
  // A queue tagged on creation needs TagQueue as well.
  'sqs:CreateQueue': ['sqs:TagQueue'],
  // Load balancing: tags on create are authorized as AddTags too; the first load balancer of an
  // account creates the service's linked role.
  'elasticloadbalancing:CreateLoadBalancer': ['elasticloadbalancing:AddTags', 'iam:CreateServiceLinkedRole'],
  'elasticloadbalancing:CreateTargetGroup': ['elasticloadbalancing:AddTags'],
  'elasticloadbalancing:CreateListener': ['elasticloadbalancing:AddTags'],
  'elasticloadbalancing:CreateRule': ['elasticloadbalancing:AddTags'],
  // A certificate requested with tags: ACM checks the tagging action too.
  'acm:RequestCertificate': ['acm:AddTagsToCertificate'],
  'ecr:CreateRepository': ['ecr:TagResource'],
  // The builds' docker push and pull with the action's registry token act as the action.
  'ecr:GetAuthorizationToken': [
    'ecr:BatchCheckLayerAvailability',
    'ecr:BatchGetImage',
    'ecr:CompleteLayerUpload',
    'ecr:GetDownloadUrlForLayer',
    'ecr:InitiateLayerUpload',
    'ecr:PutImage',
    'ecr:UploadLayerPart'
  ]
}

/** Operations AWS allows to anyone: no policy line needed (GetCallerIdentity cannot even be denied). */
const NO_PERMISSION = new Set(['sts:GetCallerIdentity'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

/** `name` -> the package it is imported from, for every named import of a file. */
function imports(text: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    for (const part of (match[1] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
      if (name) map.set(name, match[2] ?? '')
    }
  }
  return map
}

interface Use {
  /** The IAM action of the operation (service:Operation). */
  action: string
  /** The file that sends it, relative to the repository. */
  file: string
}

/** Every IAM action of an operation the source sends, with each file that sends it. */
function sentOperations(): Use[] {
  const found: Use[] = []
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8')
    const from = imports(text)
    const uses = [
      ...[...text.matchAll(/new\s+([A-Z][A-Za-z0-9]*)Command\(/g)].map((m) => ({
        symbol: `${m[1]}Command`,
        operation: m[1] ?? ''
      })),
      ...[...text.matchAll(/\bpaginate([A-Z][A-Za-z0-9]*)\(/g)].map((m) => ({
        symbol: `paginate${m[1]}`,
        operation: m[1] ?? ''
      }))
    ]
    for (const use of uses) {
      const pkg = from.get(use.symbol)
      const prefix = pkg ? PREFIX[pkg] : undefined
      if (!prefix)
        throw new Error(
          `${path.relative(ROOT, file)}: ${use.symbol} is not imported from a known AWS SDK client (${pkg ?? 'not imported'})`
        )
      found.push({ action: `${prefix}:${use.operation}`, file: path.relative(ROOT, file).split(path.sep).join('/') })
    }
  }
  return found
}

const glob = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`
  )
const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value])

/** The Allow statements whose Action covers `action` (and whose Resource covers `resource`, when given). */
function allowing(action: string, resource?: string, statements: Statement[] = STATEMENTS): Statement[] {
  return statements.filter(
    (s) =>
      s.Effect === 'Allow' &&
      s.Action.some((a) => glob(a).test(action)) &&
      (resource === undefined || list(s.Resource).some((r) => glob(r).test(resource)))
  )
}

const USES = sentOperations()
/** Every action sent -> the files that send it. */
const SENT = new Map<string, string[]>()
for (const use of USES) SENT.set(use.action, [...(SENT.get(use.action) ?? []), use.file])
/** An operation's action and what AWS checks along with it. */
const checked = (action: string): string[] => (NO_PERMISSION.has(action) ? [] : [action, ...(ALSO[action] ?? [])])
const NEEDED = new Set([...SENT.keys()].filter((a) => !NO_PERMISSION.has(a)).flatMap((a) => [a, ...(ALSO[a] ?? [])]))
const PROJECT = { project: 'prj-demo', region: 'us-east-1' }
const LONGEST = { project: 'p'.repeat(LIMITS.project), region: 'ap-southeast-2' }
const STACK = { ...PROJECT, stack: 'st-wordpress' }

describe('the deployer policy', () => {
  it('finds the operations the action sends by scanning its source (the scan itself works)', () => {
    expect(SENT.size).toBeGreaterThanOrEqual(45)
    for (const known of [
      'iam:CreateRole',
      'lambda:CreateFunction',
      'ec2:DescribeInstances',
      'autoscaling:DescribeAutoScalingGroups',
      'route53:ChangeResourceRecordSets',
      'sts:GetCallerIdentity'
    ]) {
      expect(SENT.has(known)).toBe(true)
    }
  })

  it.each([...SENT.keys()].filter((a) => !NO_PERMISSION.has(a)).sort())(
    'allows %s, which the action sends',
    (action) => {
      expect(allowing(action).map((s) => s.Sid)).not.toEqual([])
    }
  )

  it.each(
    Object.entries(ALSO)
      .filter(([a]) => SENT.has(a))
      .flatMap(([a, also]) => also.map((b) => [b, a]))
  )('allows %s, which AWS also checks for %s', (action) => {
    expect(allowing(action).map((s) => s.Sid)).not.toEqual([])
  })

  it('allows nothing the action does not send or AWS does not check along with it', () => {
    const granted = STATEMENTS.flatMap((s) => s.Action)
    expect(granted.filter((a) => a.includes('*'))).toEqual([])
    expect(granted.filter((a) => !NEEDED.has(a)).sort()).toEqual([])
  })

  it('grants on every resource (*) only the reads (the Price List included), the registry token, the zone creation and the event source mapping creation that AWS scopes to no resource', () => {
    const unscoped = STATEMENTS.filter((s) => list(s.Resource).includes('*')).flatMap((s) => s.Action)
    // CreateEventSourceMapping has no resource type; its statement is conditioned on the function's ARN
    expect(
      unscoped.filter(
        (a) =>
          !/^[a-z0-9]+:(Describe|List)/.test(a) &&
          a !== 'pricing:GetProducts' &&
          // the registry token: no resource-level permission
          a !== 'ecr:GetAuthorizationToken' &&
          a !== 'route53:CreateHostedZone' &&
          a !== 'lambda:CreateEventSourceMapping'
      )
    ).toEqual([])
  })

  it('scopes the DNS updater role, function, log group and rule to the names src/names.ts gives them, for any project', () => {
    for (const scope of [PROJECT, LONGEST]) {
      const role = `arn:aws:iam::123456789012:role/${roleName(scope)}`
      const fn = `arn:aws:lambda:${scope.region}:123456789012:function:${functionName(scope)}`
      const logs = `arn:aws:logs:${scope.region}:123456789012:log-group:${logGroupName(scope)}`
      const rule = `arn:aws:events:${scope.region}:123456789012:rule/${ruleName(scope)}`
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRole', 'iam:PassRole'])
        expect(allowing(action, role)).not.toEqual([])
      for (const action of [
        'lambda:CreateFunction',
        'lambda:UpdateFunctionCode',
        'lambda:RemovePermission',
        'lambda:DeleteFunction'
      ])
        expect(allowing(action, fn)).not.toEqual([])
      for (const action of ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteLogGroup'])
        expect(allowing(action, logs)).not.toEqual([])
      expect(allowing(`logs:PutRetentionPolicy`, `${logs}:*`)).not.toEqual([])
      for (const action of ['events:PutRule', 'events:PutTargets', 'events:DeleteRule'])
        expect(allowing(action, rule)).not.toEqual([])
    }
    // ...and to nothing else of the account.
    expect(allowing('iam:CreateRole', 'arn:aws:iam::123456789012:role/admin')).toEqual([])
    expect(allowing('iam:PassRole', 'arn:aws:iam::123456789012:role/admin')).toEqual([])
    expect(allowing('iam:PutRolePolicy', 'arn:aws:iam::123456789012:role/deployer')).toEqual([])
    expect(allowing('lambda:UpdateFunctionCode', 'arn:aws:lambda:us-east-1:123456789012:function:billing')).toEqual([])
    expect(
      allowing('logs:DeleteLogGroup', 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/billing')
    ).toEqual([])
    expect(allowing('events:PutTargets', 'arn:aws:events:us-east-1:123456789012:rule/billing')).toEqual([])
  })

  it('passes the DNS updater role to Lambda only, and the instance roles to EC2 only', () => {
    const service = (resource: string): unknown[] =>
      allowing('iam:PassRole', resource).map((s) => s.Condition?.StringEquals?.['iam:PassedToService'])
    expect(service('arn:aws:iam::123456789012:role/hyperform-dns-prj-demo-us-east-1')).toEqual(['lambda.amazonaws.com'])
    expect(service('arn:aws:iam::123456789012:role/hyperform/prj-demo/us-east-1/st/hyperform-prj-demo-st-web')).toEqual(
      ['ec2.amazonaws.com']
    )
    expect(service('arn:aws:iam::123456789012:role/admin')).toEqual([])
  })

  it('lets only EventBridge be granted the right to invoke the function', () => {
    for (const s of allowing('lambda:AddPermission'))
      expect(s.Condition?.StringEquals?.['lambda:Principal']).toBe('events.amazonaws.com')
  })

  it('creates EC2 and Auto Scaling resources only with the managed-by tag, and changes only resources that carry it', () => {
    const tagged = (s: Statement, key: string): boolean => s.Condition?.StringEquals?.[key] === MANAGED_BY
    const managed = TAGS.managedBy
    for (const action of [
      'ec2:CreateSecurityGroup',
      'ec2:CreateLaunchTemplate',
      'autoscaling:CreateAutoScalingGroup'
    ]) {
      const own = allowing(action).filter((s) => !list(s.Resource).every((r) => r.endsWith(':vpc/*')))
      expect(own.length).toBeGreaterThan(0)
      for (const s of own) expect(tagged(s, `aws:RequestTag/${managed}`)).toBe(true)
    }
    for (const action of [
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:DeleteSecurityGroup',
      'ec2:CreateLaunchTemplateVersion',
      'ec2:ModifyLaunchTemplate',
      'ec2:DeleteLaunchTemplate'
    ]) {
      const own = allowing(action).filter((s) => !list(s.Resource).every((r) => r.endsWith(':security-group-rule/*')))
      for (const s of own) expect(tagged(s, `ec2:ResourceTag/${managed}`)).toBe(true)
    }
    for (const action of [
      'autoscaling:UpdateAutoScalingGroup',
      'autoscaling:DeleteAutoScalingGroup',
      'autoscaling:StartInstanceRefresh',
      'autoscaling:CancelInstanceRefresh'
    ]) {
      const statements = allowing(action)
      expect(statements.length).toBeGreaterThan(0)
      for (const s of statements) expect(tagged(s, `aws:ResourceTag/${managed}`)).toBe(true)
    }
    // RunInstances (checked when a group gets a launch template) only from the action's own templates.
    const fromTemplate = allowing('ec2:RunInstances', 'arn:aws:ec2:us-east-1:123456789012:launch-template/lt-0abc')
    expect(fromTemplate.length).toBeGreaterThan(0)
    for (const s of fromTemplate) expect(tagged(s, `ec2:ResourceTag/${managed}`)).toBe(true)
    for (const s of allowing('ec2:RunInstances', 'arn:aws:ec2:us-east-1:123456789012:instance/*'))
      expect(s.Condition?.ArnLike?.['ec2:LaunchTemplate']).toBeDefined()
  })

  it('matches the Auto Scaling group names of src/names.ts', () => {
    for (const capacity of ['on-demand', 'spot'] as const) {
      const arn = `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1234-abcd:autoScalingGroupName/${asgName(STACK, 'db', capacity)}`
      expect(allowing('autoscaling:UpdateAutoScalingGroup', arn)).not.toEqual([])
    }
  })

  it('says what each statement is for, once, and fits the inline policy size of a role', () => {
    const sids = STATEMENTS.map((s) => s.Sid ?? '')
    expect(sids.filter((s) => !/^[A-Za-z0-9]{8,}$/.test(s))).toEqual([])
    // unique across both documents: an access denial names the statement (and its document) by Sid
    expect(new Set(sids).size).toBe(sids.length)
    expect(CORE.Version).toBe('2012-10-17')
    expect(PUBLIC_ENDPOINTS.Version).toBe('2012-10-17')
    // IAM: inline policies of a role total at most 10,240 characters (whitespace not counted)...
    expect(JSON.stringify(CORE).length).toBeLessThan(10_240)
    // ...and a managed policy at most 6,144.
    expect(JSON.stringify(PUBLIC_ENDPOINTS).length).toBeLessThan(6_144)
  })

  it('needs the public endpoints document only for the public endpoints: without it, everything else is allowed', () => {
    // Every call of the rest of the source, and what AWS checks with it, is allowed by the core alone...
    const rest = USES.filter((use) => !isPublicUse(use))
    expect(rest.length).toBeGreaterThan(0)
    const missing = rest.flatMap((use) =>
      checked(use.action)
        .filter((action) => allowing(action, undefined, CORE.Statement).length === 0)
        .map((action) => `${action} (${use.file})`)
    )
    expect(missing).toEqual([])
    // ...and every action of the public endpoints document is needed by a call of their code.
    const publicNeeds = new Set(USES.filter(isPublicUse).flatMap((use) => checked(use.action)))
    const unneeded = PUBLIC_ENDPOINTS.Statement.flatMap((s) => s.Action.map((a) => `${s.Sid ?? ''}: ${a}`)).filter(
      (entry) => !publicNeeds.has(entry.split(': ')[1] ?? '')
    )
    expect(unneeded).toEqual([])
    // The shared files' public calls are really theirs (the list above follows the source).
    for (const [file, actions] of Object.entries(PUBLIC_CALLS))
      for (const action of actions) expect(SENT.get(action)).toContain(file)
    for (const file of PUBLIC_FILES) expect(existsSync(path.join(ROOT, file))).toBe(true)
  })

  it('keeps in the core document nothing only the public endpoints need, but the reads of every run and every destroy', () => {
    const publicOnly = new Set(
      USES.filter(isPublicUse)
        .flatMap((use) => checked(use.action))
        .filter((action) => !USES.some((use) => !isPublicUse(use) && checked(use.action).includes(action)))
    )
    // Every run looks the project's load balancer up by name (a stack without a domain removes what
    // it had), and every destroy looks for the project's certificates among the account's (by their
    // tags): a stack deployed without a domain is destroyed without the public endpoints document.
    expect(SENT.get('elasticloadbalancing:DescribeLoadBalancers')).toContain('src/resources/load-balancer.ts')
    expect(SENT.get('acm:ListCertificates')).toEqual(['src/aws/certificates.ts'])
    expect(
      CORE.Statement.flatMap((s) => s.Action.filter((a) => publicOnly.has(a)).map((a) => `${s.Sid ?? ''}: ${a}`))
    ).toEqual([
      'ReadWhatHasNoResourceLevelPermissions: acm:ListCertificates',
      'ReadWhatHasNoResourceLevelPermissions: elasticloadbalancing:DescribeLoadBalancers',
      'ReadCertificateTagsToFindTheProjectsOnDestroy: acm:ListTagsForCertificate'
    ])
  })

  it('attaches and detaches target groups only of Auto Scaling groups the action changes anyway', () => {
    const [attach] = allowing('autoscaling:AttachLoadBalancerTargetGroups')
    const [change] = allowing('autoscaling:UpdateAutoScalingGroup')
    expect(allowing('autoscaling:AttachLoadBalancerTargetGroups')).toHaveLength(1)
    expect(allowing('autoscaling:DetachLoadBalancerTargetGroups')).toEqual([attach])
    expect(PUBLIC_ENDPOINTS.Statement).toContain(attach)
    expect(attach?.Resource).toEqual(change?.Resource)
    expect(attach?.Condition).toEqual(change?.Condition)
  })

  it("lists in src/aws/denied.ts exactly the public endpoints document's actions", () => {
    expect([...PUBLIC_ENDPOINTS_ACTIONS].sort()).toEqual(
      [...new Set(PUBLIC_ENDPOINTS.Statement.flatMap((s) => s.Action))].sort()
    )
  })
})
