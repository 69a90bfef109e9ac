/**
 * The emulator's IAM policy evaluator against the rules of the IAM User Guide ("Policy evaluation
 * logic", "IAM JSON policy elements", "Condition operators", "Single-valued vs. multivalued
 * context keys"), one rule per test.
 */
import { describe, expect, test } from '@jest/globals'
import {
  arnLike,
  evaluate,
  statements,
  type AuthorizationRequest,
  type PrincipalRef,
  type Statement
} from '../emulator/iam-policy/evaluate.js'

function request(action: string, resource: string, context: Record<string, string[]> = {}): AuthorizationRequest {
  return { action, resource, context: (key) => context[key] }
}

const decide = (statement: Statement | Statement[], req: AuthorizationRequest, principal?: PrincipalRef): string =>
  evaluate([Array.isArray(statement) ? statement : [statement]], req, principal).decision

const allowIf = (Condition: Statement['Condition']): Statement => ({
  Effect: 'Allow',
  Action: 's3:GetObject',
  Resource: '*',
  Condition
})
const get = (context: Record<string, string[]> = {}): AuthorizationRequest =>
  request('s3:GetObject', 'arn:aws:s3:::b/k', context)

describe('the decision', () => {
  test('nothing applies: implicit deny', () => {
    expect(
      decide({ Effect: 'Allow', Action: 'ec2:DescribeVpcs', Resource: '*' }, request('ec2:DescribeSubnets', '*'))
    ).toBe('implicit-deny')
  })

  test('an explicit deny wins over any allow', () => {
    const both: Statement[] = [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 'ec2:Terminate*', Resource: '*' }
    ]
    expect(decide(both, request('ec2:TerminateInstances', 'arn:aws:ec2:us-east-1:123456789012:instance/i-1'))).toBe(
      'explicit-deny'
    )
    expect(decide(both, request('ec2:DescribeVpcs', '*'))).toBe('allow')
  })
})

describe('Action and Resource', () => {
  test('actions match case-insensitively, with * and ? wildcards', () => {
    expect(decide({ Effect: 'Allow', Action: 'EC2:describe*', Resource: '*' }, request('ec2:DescribeVpcs', '*'))).toBe(
      'allow'
    )
    expect(
      decide({ Effect: 'Allow', Action: 'ec2:Describe?pcs', Resource: '*' }, request('ec2:DescribeVpcs', '*'))
    ).toBe('allow')
    expect(decide({ Effect: 'Allow', Action: 'ec2:Describe?', Resource: '*' }, request('ec2:DescribeVpcs', '*'))).toBe(
      'implicit-deny'
    )
  })

  test('NotAction applies to every action but the ones it names', () => {
    const s: Statement = { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }
    expect(decide(s, request('ec2:DescribeVpcs', '*'))).toBe('allow')
    expect(decide(s, request('iam:CreateRole', 'arn:aws:iam::123456789012:role/r'))).toBe('implicit-deny')
  })

  test('resources match ARN part by part, case-sensitively; a wildcard in the resource part spans / and :', () => {
    expect(
      arnLike(
        'arn:aws:logs:*:*:log-group:/aws/lambda/fn:*',
        'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:s'
      )
    ).toBe(true)
    expect(arnLike('arn:aws:route53:::hostedzone/Z1', 'arn:aws:route53:::hostedzone/z1')).toBe(false)
    expect(arnLike('arn:aws:ec2:*:*:instance/*', 'arn:aws:ec2:us-east-1:123456789012:security-group/sg-1')).toBe(false)
    expect(arnLike('arn:aws:ec2:us-*:123456789012:*', 'arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1')).toBe(false)
  })

  test('an action without resource-level permissions (resource *) needs a statement whose Resource is *', () => {
    expect(
      decide(
        { Effect: 'Allow', Action: 'ec2:DescribeVpcs', Resource: 'arn:aws:ec2:*:*:vpc/*' },
        request('ec2:DescribeVpcs', '*')
      )
    ).toBe('implicit-deny')
  })

  test('NotResource applies to every resource but the ones it names', () => {
    const s: Statement = {
      Effect: 'Deny',
      Action: 'route53:ChangeResourceRecordSets',
      NotResource: 'arn:aws:route53:::hostedzone/Z1'
    }
    expect(
      decide(
        [s, { Effect: 'Allow', Action: '*', Resource: '*' }],
        request('route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z2')
      )
    ).toBe('explicit-deny')
    expect(
      decide(
        [s, { Effect: 'Allow', Action: '*', Resource: '*' }],
        request('route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z1')
      )
    ).toBe('allow')
  })
})

describe('conditions', () => {
  test('keys are case-insensitive; several values of one key are ORed, several keys and operators ANDed', () => {
    const s = allowIf({
      StringEquals: { 'AWS:ResourceTag/Project': ['a', 'b'], 'aws:ResourceTag/stack': 's' },
      StringLike: { 'aws:userid': '*:me' }
    })
    expect(
      decide(s, get({ 'aws:resourcetag/project': ['b'], 'aws:resourcetag/stack': ['s'], 'aws:userid': ['AROA1:me'] }))
    ).toBe('allow')
    expect(
      decide(s, get({ 'aws:resourcetag/project': ['b'], 'aws:resourcetag/stack': ['t'], 'aws:userid': ['AROA1:me'] }))
    ).toBe('implicit-deny')
    expect(
      decide(s, get({ 'aws:resourcetag/project': ['b'], 'aws:resourcetag/stack': ['s'], 'aws:userid': ['AROA1:you'] }))
    ).toBe('implicit-deny')
  })

  test('a missing key makes a positive operator false and a negated operator true; IfExists makes both true', () => {
    expect(decide(allowIf({ StringEquals: { 'aws:ResourceTag/p': 'a' } }), get())).toBe('implicit-deny')
    expect(decide(allowIf({ StringNotEquals: { 'aws:ResourceTag/p': 'a' } }), get())).toBe('allow')
    expect(decide(allowIf({ StringEqualsIfExists: { 'aws:ResourceTag/p': 'a' } }), get())).toBe('allow')
    expect(
      decide(allowIf({ StringEqualsIfExists: { 'aws:ResourceTag/p': 'a' } }), get({ 'aws:resourcetag/p': ['b'] }))
    ).toBe('implicit-deny')
  })

  test('Null is true when the key is absent ("true") or present ("false")', () => {
    expect(decide(allowIf({ Null: { 'aws:RequestTag/p': 'true' } }), get())).toBe('allow')
    expect(decide(allowIf({ Null: { 'aws:RequestTag/p': 'false' } }), get())).toBe('implicit-deny')
    expect(decide(allowIf({ Null: { 'aws:RequestTag/p': 'false' } }), get({ 'aws:requesttag/p': ['x'] }))).toBe('allow')
  })

  test('ForAllValues: every request value matches (true when there are none); ForAnyValue: at least one does', () => {
    const all = allowIf({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['project', 'stack'] } })
    expect(decide(all, get({ 'aws:tagkeys': ['project'] }))).toBe('allow')
    expect(decide(all, get({ 'aws:tagkeys': ['project', 'owner'] }))).toBe('implicit-deny')
    expect(decide(all, get())).toBe('allow')
    const any = allowIf({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['project'] } })
    expect(decide(any, get({ 'aws:tagkeys': ['owner', 'project'] }))).toBe('allow')
    expect(decide(any, get())).toBe('implicit-deny')
    const anyOther = allowIf({ 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['project'] } })
    expect(decide(anyOther, get({ 'aws:tagkeys': ['project'] }))).toBe('implicit-deny')
    expect(decide(anyOther, get({ 'aws:tagkeys': ['project', 'owner'] }))).toBe('allow')
  })

  test('ArnLike and ArnEquals compare ARNs part by part', () => {
    const s = allowIf({ ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:123456789012:rule/hyperform-*' } })
    expect(decide(s, get({ 'aws:sourcearn': ['arn:aws:events:us-east-1:123456789012:rule/hyperform-x'] }))).toBe(
      'allow'
    )
    expect(decide(s, get({ 'aws:sourcearn': ['arn:aws:events:us-east-1:210987654321:rule/hyperform-x'] }))).toBe(
      'implicit-deny'
    )
    expect(
      decide(
        allowIf({ ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:1:t' } }),
        get({ 'aws:sourcearn': ['arn:aws:sns:us-east-1:1:t'] })
      )
    ).toBe('allow')
  })

  test('StringLike matches * and ? inside the value (the GitHub OIDC sub)', () => {
    const s = allowIf({ StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:org/app:*' } })
    expect(decide(s, get({ 'token.actions.githubusercontent.com:sub': ['repo:org/app:ref:refs/heads/main'] }))).toBe(
      'allow'
    )
    expect(
      decide(s, get({ 'token.actions.githubusercontent.com:sub': ['repo:org/application:ref:refs/heads/main'] }))
    ).toBe('implicit-deny')
  })

  test('an operator the evaluator does not know is an error, not an allow', () => {
    expect(() => decide(allowIf({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }), get())).toThrow(
      /Unsupported condition operator IpAddress/
    )
  })
})

describe('trust policies (Principal)', () => {
  const trust = statements(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { AWS: '123456789012' }, Action: 'sts:AssumeRole' }
      ]
    })
  )
  const assume = request('sts:AssumeRole', 'arn:aws:iam::123456789012:role/r')

  test('a service principal matches by name', () => {
    expect(evaluate([trust], assume, { type: 'Service', ids: ['lambda.amazonaws.com'] }).decision).toBe('allow')
    expect(evaluate([trust], assume, { type: 'Service', ids: ['ec2.amazonaws.com'] }).decision).toBe('implicit-deny')
  })

  test('an account id names the account root, which every principal of the account carries', () => {
    expect(
      evaluate([trust], assume, {
        type: 'AWS',
        ids: ['arn:aws:iam::123456789012:role/x', 'arn:aws:iam::123456789012:root']
      }).decision
    ).toBe('allow')
    expect(evaluate([trust], assume, { type: 'AWS', ids: ['arn:aws:iam::210987654321:root'] }).decision).toBe(
      'implicit-deny'
    )
  })

  test('a statement without Principal never applies in a trust policy', () => {
    expect(
      evaluate([[{ Effect: 'Allow', Action: 'sts:AssumeRole' }]], assume, {
        type: 'AWS',
        ids: ['arn:aws:iam::123456789012:root']
      }).decision
    ).toBe('implicit-deny')
  })
})

describe('documents', () => {
  test('a URL-encoded document (as IAM returns it) parses; a statement needs Effect and one of Action / NotAction', () => {
    expect(statements(encodeURIComponent('{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}'))).toHaveLength(
      1
    )
    expect(() => statements('{"Statement":[{"Effect":"Maybe","Action":"*"}]}')).toThrow(/Effect/)
    expect(() => statements('{"Statement":[{"Effect":"Allow","Resource":"*"}]}')).toThrow(/Action/)
    expect(() => statements('not json')).toThrow(/invalid Json/)
  })
})
