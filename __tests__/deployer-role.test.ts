/**
 * docs/deployer-role.yaml: its inline policy is docs/deployer-policy.json, with PublicEndpoints=true
 * a managed policy attached to the role is docs/deployer-policy-public-endpoints.json, and its trust policy,
 * resolved the way CloudFormation resolves the template's conditions and intrinsic functions
 * for given parameters, admits GitHub's OIDC tokens of one repository (and, when asked, one
 * branch or environment) and no other.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TEMPLATE = parse(readFileSync(path.join(ROOT, 'docs/deployer-role.yaml'), 'utf8')) as Template
const POLICY = JSON.parse(readFileSync(path.join(ROOT, 'docs/deployer-policy.json'), 'utf8')) as unknown
const PUBLIC_ENDPOINTS_POLICY = JSON.parse(
  readFileSync(path.join(ROOT, 'docs/deployer-policy-public-endpoints.json'), 'utf8')
) as unknown
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

interface Template {
  Parameters: Record<string, { Default?: string; AllowedPattern?: string; AllowedValues?: string[] }>
  Conditions: Record<string, unknown>
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>
  Outputs: Record<string, { Value: unknown }>
}

const NO_VALUE = Symbol('AWS::NoValue')
const ACCOUNT = '123456789012'

/** The subset of CloudFormation's intrinsic functions the template uses, resolved for `params`. */
function resolver(params: Record<string, string>) {
  const values: Record<string, string> = {}
  for (const [name, p] of Object.entries(TEMPLATE.Parameters)) {
    const value = params[name] ?? p.Default
    if (value === undefined) throw new Error(`parameter ${name} is required`)
    if (p.AllowedPattern && !new RegExp(p.AllowedPattern).test(value))
      throw new Error(`parameter ${name}: "${value}" does not match ${p.AllowedPattern}`)
    if (p.AllowedValues && !p.AllowedValues.includes(value))
      throw new Error(`parameter ${name}: "${value}" is not allowed`)
    values[name] = value
  }
  const refs: Record<string, string> = {
    ...values,
    // Ref of an AWS::IAM::Role is its name
    DeployerRole: values.RoleName ?? '',
    GitHubOidcProvider: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`
  }
  const condition = (name: string): boolean => {
    const node = TEMPLATE.Conditions[name]
    if (node === undefined) throw new Error(`no condition ${name}`)
    return resolve(node) as boolean
  }
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve).filter((v) => v !== NO_VALUE)
    if (!node || typeof node !== 'object') return node
    const entries = Object.entries(node)
    const [key, arg] = entries[0] ?? []
    if (entries.length === 1 && key !== undefined) {
      const args = arg as unknown[]
      switch (key) {
        case 'Ref':
          if (arg === 'AWS::NoValue') return NO_VALUE
          if (refs[arg as string] === undefined) throw new Error(`Ref to unknown ${String(arg)}`)
          return refs[arg as string]
        case 'Condition':
          return condition(arg as string)
        case 'Fn::Equals':
          return resolve(args[0]) === resolve(args[1])
        case 'Fn::Not':
          return !resolve(args[0])
        case 'Fn::And':
          return args.every((a) => resolve(a) === true)
        case 'Fn::Or':
          return args.some((a) => resolve(a) === true)
        case 'Fn::If':
          return condition(args[0] as string) ? resolve(args[1]) : resolve(args[2])
        case 'Fn::Sub':
          return (arg as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (refs[name] === undefined) throw new Error(`Fn::Sub of unknown ${name}`)
            return refs[name]
          })
        case 'Fn::GetAtt':
          return `arn:aws:iam::${ACCOUNT}:role/${values.RoleName}`
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]).filter(([, v]) => v !== NO_VALUE))
  }
  return { resolve, condition }
}

interface TrustStatement {
  Effect: string
  Principal: { Federated: string }
  Action: string
  Condition: { StringEquals: Record<string, string>; StringLike: Record<string, string[]> }
}

function deployed(params: Record<string, string>) {
  const { resolve, condition } = resolver(params)
  const role = resolve(TEMPLATE.Resources.DeployerRole?.Properties) as {
    AssumeRolePolicyDocument: { Statement: TrustStatement[] }
    Policies: Array<{ PolicyDocument: unknown }>
  }
  const createsProvider = condition(TEMPLATE.Resources.GitHubOidcProvider?.Condition ?? '')
  const [trust, ...more] = role.AssumeRolePolicyDocument.Statement
  if (!trust || more.length > 0) throw new Error('expected one trust statement')
  // The managed policies the stack creates (those whose condition holds), resolved.
  const managedPolicies = Object.values(TEMPLATE.Resources)
    .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy' && (r.Condition === undefined || condition(r.Condition)))
    .map((r) => resolve(r.Properties) as { Roles?: string[]; PolicyDocument: unknown })
  return { role, trust, createsProvider, managedPolicies }
}

const glob = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`
  )

/** Whether a GitHub OIDC token with this `sub` (audience sts.amazonaws.com) may assume the role. */
function admits(trust: TrustStatement, sub: string, aud = 'sts.amazonaws.com'): boolean {
  const subjects = trust.Condition.StringLike['token.actions.githubusercontent.com:sub'] ?? []
  return (
    trust.Condition.StringEquals['token.actions.githubusercontent.com:aud'] === aud &&
    subjects.some((s) => glob(s).test(sub))
  )
}

const REPO = 'octo-org/shop'

describe('the deployer role template', () => {
  it('gives the role docs/deployer-policy.json as its policy, unchanged', () => {
    const policies = TEMPLATE.Resources.DeployerRole?.Properties.Policies as Array<{ PolicyDocument: unknown }>
    expect(policies).toHaveLength(1)
    expect(policies[0]?.PolicyDocument).toEqual(POLICY)
    expect(TEMPLATE.Resources.DeployerRole?.Properties.ManagedPolicyArns).toBeUndefined()
  })

  it('embeds docs/deployer-policy-public-endpoints.json, unchanged, in one managed policy of the PublicEndpoints condition', () => {
    const managed = Object.values(TEMPLATE.Resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
    expect(managed).toHaveLength(1)
    expect(managed[0]?.Condition).toBe('PublicEndpoints')
    expect(managed[0]?.Properties.PolicyDocument).toEqual(PUBLIC_ENDPOINTS_POLICY)
    expect(TEMPLATE.Parameters.PublicEndpoints).toMatchObject({ Default: 'false', AllowedValues: ['true', 'false'] })
  })

  it('attaches the public endpoints policy to the role only with PublicEndpoints=true', () => {
    expect(deployed({ Repository: REPO }).managedPolicies).toEqual([])
    expect(deployed({ Repository: REPO, PublicEndpoints: 'false' }).managedPolicies).toEqual([])
    const { managedPolicies, role } = deployed({ Repository: REPO, PublicEndpoints: 'true', RoleName: 'deployer-x' })
    expect(managedPolicies).toHaveLength(1)
    expect(managedPolicies[0]?.PolicyDocument).toEqual(PUBLIC_ENDPOINTS_POLICY)
    // attached through the policy's Roles: the role itself names no managed policy
    expect(managedPolicies[0]?.Roles).toEqual(['deployer-x'])
    expect(managedPolicies[0]?.Roles).toEqual([(role as unknown as { RoleName: string }).RoleName])
    expect((role as unknown as { ManagedPolicyArns?: unknown }).ManagedPolicyArns).toBeUndefined()
    // the inline policy stays the core one either way
    expect(role.Policies.map((p) => p.PolicyDocument)).toEqual([POLICY])
    expect(() => deployed({ Repository: REPO, PublicEndpoints: 'yes' })).toThrow(/PublicEndpoints/)
  })

  it('by default trusts every workflow run of the one repository, pull requests included, and no other repository', () => {
    const { trust, createsProvider } = deployed({ Repository: REPO })
    expect(createsProvider).toBe(true)
    expect(trust).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }
    })
    for (const sub of [
      `repo:${REPO}:ref:refs/heads/main`,
      `repo:${REPO}:pull_request`,
      `repo:${REPO}:environment:production`
    ])
      expect(admits(trust, sub)).toBe(true)
    for (const sub of [
      'repo:octo-org/shop-fork:ref:refs/heads/main',
      'repo:evil/shop:ref:refs/heads/main',
      'repo:octo-org/*:ref:refs/heads/main'
    ])
      expect(admits(trust, sub)).toBe(false)
    expect(admits(trust, `repo:${REPO}:ref:refs/heads/main`, 'some-other-audience')).toBe(false)
  })

  it('with a branch trusts only runs on that branch, and pull requests only when asked', () => {
    const { trust } = deployed({ Repository: REPO, Branch: 'main' })
    expect(admits(trust, `repo:${REPO}:ref:refs/heads/main`)).toBe(true)
    for (const sub of [
      `repo:${REPO}:ref:refs/heads/feature`,
      `repo:${REPO}:ref:refs/heads/main-old`,
      `repo:${REPO}:pull_request`,
      `repo:${REPO}:environment:production`
    ])
      expect(admits(trust, sub)).toBe(false)
    const withPrs = deployed({ Repository: REPO, Branch: 'main', AllowPullRequests: 'true' }).trust
    expect(admits(withPrs, `repo:${REPO}:pull_request`)).toBe(true)
    expect(admits(withPrs, `repo:${REPO}:ref:refs/heads/feature`)).toBe(false)
  })

  it('with an environment trusts only jobs that use that environment', () => {
    const { trust } = deployed({ Repository: REPO, Environment: 'production' })
    expect(admits(trust, `repo:${REPO}:environment:production`)).toBe(true)
    for (const sub of [
      `repo:${REPO}:environment:staging`,
      `repo:${REPO}:ref:refs/heads/main`,
      `repo:${REPO}:pull_request`
    ])
      expect(admits(trust, sub)).toBe(false)
  })

  it("uses the account's existing GitHub OIDC provider instead of creating one when given", () => {
    const existing = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`
    const { trust, createsProvider } = deployed({ Repository: REPO, ExistingOidcProviderArn: existing })
    expect(createsProvider).toBe(false)
    expect(trust.Principal.Federated).toBe(existing)
    const provider = TEMPLATE.Resources.GitHubOidcProvider?.Properties
    expect(provider).toMatchObject({
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com']
    })
  })

  it('refuses a repository that is not one owner/name, so a wildcard cannot open the role to others', () => {
    for (const Repository of ['*', 'octo-org/*', 'octo-org', 'octo-org/shop:*', ''])
      expect(() => deployed({ Repository })).toThrow(/Repository/)
  })

  it("is deployed as the README's Use section shows, with the template's own parameter names", () => {
    const use = README.slice(README.indexOf('## Use'), README.indexOf('\n## ', README.indexOf('## Use') + 1))
    expect(use).toContain('docs/deployer-policy.json')
    expect(use).toContain('docs/deployer-policy-public-endpoints.json')
    const command = /aws cloudformation deploy[^`]*/.exec(use)?.[0] ?? ''
    expect(command).toContain('--template-file docs/deployer-role.yaml')
    expect(command).toContain('CAPABILITY_NAMED_IAM')
    const overrides = /--parameter-overrides ([^\n]*)/.exec(command)?.[1] ?? ''
    // Every Name=value the section shows: on the command line and in the text around it.
    const named = [...overrides.matchAll(/\b([A-Z][A-Za-z]+)=/g), ...use.matchAll(/`([A-Z][A-Za-z]+)=[^`]*`/g)].map(
      (m) => m[1] ?? ''
    )
    expect(named).toEqual(
      expect.arrayContaining(['Repository', 'Branch', 'ExistingOidcProviderArn', 'Environment', 'PublicEndpoints'])
    )
    expect(named.length).toBeGreaterThan(0)
    for (const name of named) expect(Object.keys(TEMPLATE.Parameters)).toContain(name)
    expect(Object.keys(TEMPLATE.Outputs)).toContain('RoleArn')
  })
})
