/**
 * AWS access-denied errors explained: which IAM action on which resource the
 * role running the action is missing, and where the full policy is
 * (docs/deployer-policy.json; for what only the public endpoints of the `domain` input need,
 * docs/deployer-policy-public-endpoints.json). The operation comes from the failing command
 * (noted by the one door to AWS, Aws.send); the action and
 * resource from AWS's own message when it names them ("User: ... is not
 * authorized to perform: <action> on resource: <arn> because ...").
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { errorCode, errorMessage, HyperformError } from './errors.js'

/** The codes AWS answers a call the caller's policies do not allow with (EC2: UnauthorizedOperation). */
export const ACCESS_DENIED_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'Client.UnauthorizedOperation'
])

export const POLICY_PATH = 'docs/deployer-policy.json'
export const PUBLIC_ENDPOINTS_POLICY_PATH = 'docs/deployer-policy-public-endpoints.json'

/**
 * The actions of docs/deployer-policy-public-endpoints.json (__tests__/deployer-policy.test.ts
 * keeps this list equal to the file): a denied one the core policy does not have points there.
 */
export const PUBLIC_ENDPOINTS_ACTIONS: readonly string[] = [
  'acm:AddTagsToCertificate',
  'acm:DeleteCertificate',
  'acm:DescribeCertificate',
  'acm:RequestCertificate',
  'autoscaling:AttachLoadBalancerTargetGroups',
  'autoscaling:DetachLoadBalancerTargetGroups',
  'elasticloadbalancing:AddListenerCertificates',
  'elasticloadbalancing:AddTags',
  'elasticloadbalancing:CreateListener',
  'elasticloadbalancing:CreateLoadBalancer',
  'elasticloadbalancing:CreateRule',
  'elasticloadbalancing:CreateTargetGroup',
  'elasticloadbalancing:DeleteListener',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteRule',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:DescribeListenerCertificates',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTags',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:ModifyListener',
  'elasticloadbalancing:ModifyRule',
  'elasticloadbalancing:ModifyTargetGroup',
  'elasticloadbalancing:ModifyTargetGroupAttributes',
  'elasticloadbalancing:RemoveListenerCertificates',
  'elasticloadbalancing:SetSecurityGroups',
  'elasticloadbalancing:SetSubnets',
  'iam:CreateServiceLinkedRole',
  'route53:ChangeResourceRecordSets'
]
export const ROLE_TEMPLATE_PATH = 'docs/deployer-role.yaml'

export interface Operation {
  /** IAM service prefix: ec2, autoscaling, iam, ... */
  service: string
  /** API operation: CreateRole, DescribeVpcs, ... */
  operation: string
}

/** The IAM action an API operation needs first (for every operation the action sends, its name). */
export function iamAction(op: Operation): string {
  return `${op.service}:${op.operation}`
}

const operations = new WeakMap<object, Operation>()

/** The operation whose call failed with `err`, when it went through the door. */
export function operationOf(err: unknown): Operation | undefined {
  return err && typeof err === 'object' ? operations.get(err) : undefined
}

/** Notes which operation failed with `err` (the door, src/aws/send.ts, does it for every call). */
export function noteOperation(err: unknown, op: Operation): void {
  if (err && typeof err === 'object') operations.set(err, op)
}

export interface Denial {
  /** The IAM action denied: from AWS's message, else from the operation. */
  action?: string
  /** The resource ARN AWS named, if it named one. */
  resource?: string
  /** Who was denied (the assumed role session), if AWS said. */
  principal?: string
  /** AWS's reason ("no identity-based policy allows ...", "an explicit deny in a service control policy"). */
  reason?: string
  /** The API operation that failed, when known. */
  operation?: Operation
  /** The Sid of the statement of `policy` that allows the action, when one does. */
  statement?: string
  /**
   * The document that has (or should have) the action: docs/deployer-policy.json, or
   * docs/deployer-policy-public-endpoints.json for an action only the public endpoints need.
   */
  policy: string
  code: string
  /** AWS's message, as sent. */
  message: string
}

const NAMED =
  /User: (\S+) is not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)(?: on resource: (\S+?))?(?:\s+(?:because|with) (.+?))?(?:\.(?:\s|$)|$)/

/** Auto Scaling's words when the caller may not launch from a group's launch template (ec2:RunInstances on it). */
const LAUNCH_TEMPLATE = /You are not authorized to use launch template:\s*(\S+)/

/** Reads AWS's access-denied message; whatever it does not name stays undefined. */
export function parseDeniedMessage(message: string): Pick<Denial, 'action' | 'resource' | 'principal' | 'reason'> {
  const template = LAUNCH_TEMPLATE.exec(message)
  if (template) {
    return {
      action: 'ec2:RunInstances',
      reason: `it may not launch from launch template ${template[1]} (Auto Scaling checks ec2:RunInstances on the template and on what a launch uses, ec2:CreateTags for the tags it gives instances and volumes, iam:PassRole for its instance profile)`
    }
  }
  const match = NAMED.exec(message)
  if (!match) return {}
  const [, principal, action, resource, reason] = match
  return { principal, action, resource: resource?.replace(/[.,;]$/, ''), reason }
}

/** Every error in `err`'s chain: its causes and, for an error of several steps, each of them. */
function chain(err: unknown, seen = new Set<unknown>()): unknown[] {
  if (!err || typeof err !== 'object' || seen.has(err)) return []
  seen.add(err)
  const out: unknown[] = [err]
  const { cause, errors } = err as { cause?: unknown; errors?: unknown }
  if (Array.isArray(errors)) for (const e of errors) out.push(...chain(e, seen))
  out.push(...chain(cause, seen))
  return out
}

/** The access denials in `err` (an AWS error, or the action's wrappers of one or of several), one per action and resource. */
export function findDenials(err: unknown): Denial[] {
  const denials: Denial[] = []
  for (const e of chain(err)) {
    // The wrappers repeat their cause's code: read the AWS error itself.
    if (e instanceof HyperformError || !ACCESS_DENIED_CODES.has(errorCode(e))) continue
    const message = errorMessage(e)
    const operation = operationOf(e)
    const named = parseDeniedMessage(message)
    const action = named.action ?? (operation ? iamAction(operation) : undefined)
    const policy = action ? policyPathOf(action) : POLICY_PATH
    const denial: Denial = {
      ...named,
      action,
      operation,
      statement: action ? policyStatement(action, policy) : undefined,
      policy,
      code: errorCode(e),
      message
    }
    if (!denials.some((d) => d.action === denial.action && d.resource === denial.resource)) denials.push(denial)
  }
  return denials
}

interface PolicyStatement {
  Sid?: string
  Effect?: string
  Action?: string | string[]
}

const policyStatements = new Map<string, PolicyStatement[]>()

/** A policy document's statements: beside the bundled action (dist/../docs) or the sources (src/aws/../../docs); none when unreadable. */
function statements(file: string): PolicyStatement[] {
  const known = policyStatements.get(file)
  if (known) return known
  for (const url of [new URL(`../${file}`, import.meta.url), new URL(`../../${file}`, import.meta.url)]) {
    try {
      const policy = JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as { Statement?: PolicyStatement[] }
      policyStatements.set(file, policy.Statement ?? [])
      return policy.Statement ?? []
    } catch {
      // try the next place
    }
  }
  return []
}

/** The Sid of the first statement of `file` (by default docs/deployer-policy.json) that allows `action`. */
export function policyStatement(action: string, file: string = POLICY_PATH): string | undefined {
  const matches = (pattern: string): boolean =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action)
  const found = statements(file).find((s) => s.Effect === 'Allow' && [s.Action ?? []].flat().some(matches))
  return found ? (found.Sid ?? 'without a Sid') : undefined
}

/**
 * The document a denied action belongs in: docs/deployer-policy-public-endpoints.json for an
 * action of that document the core policy does not have (only the public endpoints need it),
 * docs/deployer-policy.json otherwise.
 */
export function policyPathOf(action: string): string {
  const publicOnly =
    PUBLIC_ENDPOINTS_ACTIONS.some((a) => a.toLowerCase() === action.toLowerCase()) &&
    policyStatement(action, POLICY_PATH) === undefined
  return publicOnly ? PUBLIC_ENDPOINTS_POLICY_PATH : POLICY_PATH
}

/** Where a policy document is: a link into the action's own repository when the runner says which (GITHUB_ACTION_REPOSITORY, GITHUB_ACTION_REF). */
export function policyLocation(env: NodeJS.ProcessEnv = process.env, file: string = POLICY_PATH): string {
  const repo = env.GITHUB_ACTION_REPOSITORY
  const ref = env.GITHUB_ACTION_REF
  if (!repo || !ref) return file
  return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${repo}/blob/${ref}/${file}`
}

function what(d: Denial): string {
  const action = d.action ?? 'an AWS call'
  return d.resource ? `${action} on ${d.resource}` : action
}

/** One sentence per denial: what is missing, on what, for whom, and where the policy that has it is. */
export function explainDenial(d: Denial, env: NodeJS.ProcessEnv = process.env): string {
  const who = d.principal ? ` to ${d.principal}` : ''
  const failed = d.operation ? ` (${d.operation.operation} failed with ${d.code})` : ` (${d.code})`
  const head = `AWS denied ${what(d)}${who}${failed}`
  if (d.reason !== undefined && /explicit deny/i.test(d.reason)) {
    return `${head}: ${d.reason}. A Deny wins over any Allow, so adding the permission to the role does not help: whoever manages that policy has to allow ${d.action ?? 'the call'} for this action (its full list is ${policyLocation(env, d.policy)}).`
  }
  const because = d.reason ? `: ${d.reason}` : ''
  const policy = policyLocation(env, d.policy)
  const where = d.statement
    ? `statement ${d.statement} of ${policy} allows it`
    : d.action
      ? `${policy} does not list it either, which is a bug of the action (its policy should allow every call it makes): please report it`
      : `${policy} has every permission the action needs`
  const that =
    d.policy === PUBLIC_ENDPOINTS_POLICY_PATH
      ? `That policy is what the public endpoints of the \`domain\` input need on top of ${POLICY_PATH} (to deploy them and to destroy a stack that used them), and ${ROLE_TEMPLATE_PATH} attaches it to the role with PublicEndpoints=true.`
      : `That policy is all the action needs for deploy, plan, destroy, drift and previews without the \`domain\` input, and ${ROLE_TEMPLATE_PATH} creates a role with it in one step.`
  return `${head}${because}. The role this workflow assumes lacks it; ${where}. ${that}`
}

function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** The job summary section: one row per missing permission. */
export function denialsMarkdown(denials: readonly Denial[], env: NodeJS.ProcessEnv = process.env): string {
  const rows = denials.map(
    (d) =>
      `| \`${cell(d.action ?? '?')}\` | ${d.resource ? `\`${cell(d.resource)}\`` : '-'} | ${cell(d.operation?.operation ?? '-')} | ${cell(d.reason ?? d.code)} | ${d.statement ? `\`${cell(d.statement)}\`${d.policy === PUBLIC_ENDPOINTS_POLICY_PATH ? ` (${PUBLIC_ENDPOINTS_POLICY_PATH})` : ''}` : 'not listed'} |`
  )
  return (
    [
      '## AWS access denied',
      `The role this workflow assumes is missing ${denials.length === 1 ? 'a permission' : `${denials.length} permissions`} the action needs.`,
      [
        '| IAM action | resource | failed call | why | statement of the policy |',
        '| --- | --- | --- | --- | --- |',
        ...rows
      ].join('\n'),
      `Every permission the action needs (deploy, plan, destroy, drift, previews) without the \`domain\` input is in [${POLICY_PATH}](${policyLocation(env)}); ${ROLE_TEMPLATE_PATH} creates an OIDC role with exactly those (\`aws cloudformation deploy\`, see the README).`,
      ...(denials.some((d) => d.policy === PUBLIC_ENDPOINTS_POLICY_PATH)
        ? [
            `The public endpoints of the \`domain\` input also need [${PUBLIC_ENDPOINTS_POLICY_PATH}](${policyLocation(env, PUBLIC_ENDPOINTS_POLICY_PATH)}): deploy the template with \`PublicEndpoints=true\` to attach it.`
          ]
        : [])
    ].join('\n\n') + '\n'
  )
}
