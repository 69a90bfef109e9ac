/**
 * An AWS access denial explained: the real SDK clients deserialise AWS's own error answers
 * (IAM and Auto Scaling query XML, EC2 XML, Lambda REST-JSON), the action wraps them as it does
 * (a read's context, an apply step, ApplyError), and the explanation names the IAM action, the
 * resource and docs/deployer-policy.json (docs/deployer-policy-public-endpoints.json for what only
 * the public endpoints need).
 */
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { CreateSecurityGroupCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { CreateRoleCommand, GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam'
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { ApplyError } from '../src/aws/engine.js'
import type { Clients } from '../src/aws/clients.js'
import { denialsMarkdown, explainDenial, findDenials, parseDeniedMessage } from '../src/aws/denied.js'
import { Aws } from '../src/aws/send.js'
import { wrap } from '../src/aws/errors.js'

const SESSION = 'arn:aws:sts::123456789012:assumed-role/deployer/GitHubActions'
const ROLE_ARN = 'arn:aws:iam::123456789012:role/hyperform-dns-prj-demo-us-east-1'
const NO_ENV = {}

interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

/** A request handler that answers every call with `answer`, as AWS would over HTTP. */
function answering(answer: Answer) {
  return {
    handle: async () => ({
      response: { statusCode: answer.status, headers: answer.headers, body: new TextEncoder().encode(answer.body) }
    })
  }
}

const config = (answer: Answer) => ({
  region: 'us-east-1',
  maxAttempts: 1,
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  requestHandler: answering(answer)
})

const queryError = (code: string, message: string): Answer => ({
  status: 403,
  headers: { 'content-type': 'text/xml' },
  body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
})

const ec2Error = (message: string): Answer => ({
  status: 403,
  headers: { 'content-type': 'text/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>${message}</Message></Error></Errors><RequestID>req-2</RequestID></Response>`
})

const lambdaError = (message: string): Answer => ({
  status: 403,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' },
  body: JSON.stringify({ Message: message })
})

async function failure(send: () => Promise<unknown>): Promise<unknown> {
  try {
    await send()
  } catch (err) {
    return err
  }
  throw new Error('the call succeeded')
}

/** One client behind the action's door to AWS, which notes the operation of every failed call. */
function door(key: keyof Clients, client: Clients[keyof Clients]): Aws {
  return new Aws({ [key]: client } as unknown as Clients, {
    timing: { baseDelayMs: 1, maxDelayMs: 2, consistencyMs: 10 }
  })
}

describe('an AWS access denial', () => {
  it('names the IAM action and resource from the message of a denied CreateRole, through the apply step that wrapped it, and points at the policy', async () => {
    const iam = door(
      'iam',
      new IAMClient(
        config(
          queryError(
            'AccessDenied',
            `User: ${SESSION} is not authorized to perform: iam:CreateRole on resource: ${ROLE_ARN} because no identity-based policy allows the iam:CreateRole action`
          )
        )
      )
    )
    const raw = await failure(() =>
      iam.send(new CreateRoleCommand({ RoleName: 'hyperform-dns-prj-demo-us-east-1', AssumeRolePolicyDocument: '{}' }))
    )
    const err = new ApplyError([wrap('creating role hyperform-dns-prj-demo-us-east-1', raw)], {
      applied: [],
      writes: 1,
      reads: 6
    })

    const [denial, ...more] = findDenials(err)
    expect(more).toEqual([])
    expect(denial).toMatchObject({
      action: 'iam:CreateRole',
      resource: ROLE_ARN,
      principal: SESSION,
      code: 'AccessDenied',
      operation: { service: 'iam', operation: 'CreateRole' },
      statement: 'DnsUpdaterRole'
    })
    const text = explainDenial(denial!, NO_ENV)
    expect(text).toContain(`AWS denied iam:CreateRole on ${ROLE_ARN} to ${SESSION}`)
    expect(text).toContain('no identity-based policy allows the iam:CreateRole action')
    expect(text).toContain('statement DnsUpdaterRole of docs/deployer-policy.json allows it')
    expect(text).toContain('docs/deployer-role.yaml')
  })

  it('derives the IAM action from the failed operation when AWS names none (EC2 UnauthorizedOperation with only an encoded message)', async () => {
    const ec2 = door(
      'ec2',
      new EC2Client(
        config(
          ec2Error('You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf123')
        )
      )
    )
    const raw = await failure(() => ec2.send(new DescribeVpcsCommand({})))
    const [denial] = findDenials(wrap('reading the default VPC', raw))
    expect(denial).toMatchObject({ action: 'ec2:DescribeVpcs', code: 'UnauthorizedOperation' })
    expect(denial?.resource).toBeUndefined()
    expect(explainDenial(denial!, NO_ENV)).toMatch(
      /^AWS denied ec2:DescribeVpcs \(DescribeVpcs failed with UnauthorizedOperation\)\. The role this workflow assumes lacks it; statement ReadWhatHasNoResourceLevelPermissions of docs\/deployer-policy\.json allows it\./
    )
  })

  it('reads the action and resource out of an EC2 message that carries them before its encoded part', async () => {
    const vpc = 'arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc'
    const message = `You are not authorized to perform this operation. User: ${SESSION} is not authorized to perform: ec2:CreateSecurityGroup on resource: ${vpc} because no identity-based policy allows the ec2:CreateSecurityGroup action. Encoded authorization failure message: AbC.dEf`
    const ec2 = door('ec2', new EC2Client(config(ec2Error(message))))
    const raw = await failure(() =>
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'g', Description: 'd', VpcId: 'vpc-0abc' }))
    )
    const [denial] = findDenials(raw)
    expect(denial).toMatchObject({
      action: 'ec2:CreateSecurityGroup',
      resource: vpc,
      reason: 'no identity-based policy allows the ec2:CreateSecurityGroup action'
    })
  })

  it('says that an explicit deny in a service control policy is not fixed by the role', async () => {
    const fn = 'arn:aws:lambda:us-east-1:123456789012:function:update_r53_record-prj-demo'
    const lambda = door(
      'lambda',
      new LambdaClient(
        config(
          lambdaError(
            `User: ${SESSION} is not authorized to perform: lambda:GetFunction on resource: ${fn} with an explicit deny in a service control policy`
          )
        )
      )
    )
    const raw = await failure(() => lambda.send(new GetFunctionCommand({ FunctionName: 'update_r53_record-prj-demo' })))
    const [denial] = findDenials(wrap('reading function update_r53_record-prj-demo', raw))
    expect(denial).toMatchObject({
      action: 'lambda:GetFunction',
      resource: fn,
      code: 'AccessDeniedException',
      reason: 'an explicit deny in a service control policy'
    })
    expect(explainDenial(denial!, NO_ENV)).toContain('adding the permission to the role does not help')
  })

  it('lists each distinct denial of a failed apply once, in the job summary table', async () => {
    const group =
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/hyperform-prj-demo-st-wp-db-spot'
    const asg = door(
      'autoScaling',
      new AutoScalingClient(
        config(
          queryError(
            'AccessDenied',
            `User: ${SESSION} is not authorized to perform: autoscaling:UpdateAutoScalingGroup on resource: ${group} because no identity-based policy allows the autoscaling:UpdateAutoScalingGroup action`
          )
        )
      )
    )
    const iam = door(
      'iam',
      new IAMClient(
        config(
          queryError(
            'AccessDenied',
            `User: ${SESSION} is not authorized to perform: iam:GetRolePolicy on resource: role hyperform-dns-prj-demo-us-east-1 because no identity-based policy allows the iam:GetRolePolicy action`
          )
        )
      )
    )
    const update = await failure(() =>
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'hyperform-prj-demo-st-wp-db-spot' }))
    )
    const again = await failure(() =>
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'hyperform-prj-demo-st-wp-db-spot' }))
    )
    const read = await failure(() =>
      iam.send(
        new GetRolePolicyCommand({ RoleName: 'hyperform-dns-prj-demo-us-east-1', PolicyName: 'update-r53-record' })
      )
    )
    const err = new ApplyError(
      [wrap('updating group a', update), wrap('updating group b', again), wrap('reading role policy', read)],
      { applied: [], writes: 2, reads: 1 }
    )

    const denials = findDenials(err)
    expect(denials.map((d) => d.action)).toEqual(['autoscaling:UpdateAutoScalingGroup', 'iam:GetRolePolicy'])
    const markdown = denialsMarkdown(denials, NO_ENV)
    expect(markdown).toContain('missing 2 permissions')
    expect(markdown).toContain(`| \`autoscaling:UpdateAutoScalingGroup\` | \`${group}\` | UpdateAutoScalingGroup |`)
    expect(markdown).toContain('| `ChangeOwnAutoScalingGroups` |')
    expect(markdown).toContain('| `DnsUpdaterRole` |')
    expect(markdown).toContain('[docs/deployer-policy.json](docs/deployer-policy.json)')
  })

  it('links the policy in the action repository and ref the runner names', () => {
    const [denial] = findDenials(
      Object.assign(
        new Error(
          'User: x is not authorized to perform: events:PutRule on resource: arn:aws:events:us-east-1:1:rule/update_r53_record-p'
        ),
        { name: 'AccessDeniedException' }
      )
    )
    const env = {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_ACTION_REPOSITORY: 'org/hyperform-action',
      GITHUB_ACTION_REF: 'v1'
    }
    expect(explainDenial(denial!, env)).toContain(
      'https://github.com/org/hyperform-action/blob/v1/docs/deployer-policy.json'
    )
  })

  it('points a denied action only the public endpoints need at docs/deployer-policy-public-endpoints.json', () => {
    const lb =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/hyperform-prj-demo/50dc6c495c0c9188'
    const [denial] = findDenials(
      Object.assign(
        new Error(
          `User: ${SESSION} is not authorized to perform: elasticloadbalancing:SetSubnets on resource: ${lb} because no identity-based policy allows the elasticloadbalancing:SetSubnets action`
        ),
        { name: 'AccessDenied' }
      )
    )
    expect(denial).toMatchObject({
      action: 'elasticloadbalancing:SetSubnets',
      statement: 'ChangeOwnLoadBalancing',
      policy: 'docs/deployer-policy-public-endpoints.json'
    })
    const text = explainDenial(denial!, NO_ENV)
    expect(text).toContain('statement ChangeOwnLoadBalancing of docs/deployer-policy-public-endpoints.json allows it')
    expect(text).toContain('PublicEndpoints=true')
    expect(text).not.toContain('does not list it')
    const markdown = denialsMarkdown([denial!], NO_ENV)
    expect(markdown).toContain('`ChangeOwnLoadBalancing` (docs/deployer-policy-public-endpoints.json)')
    expect(markdown).toContain(
      '[docs/deployer-policy-public-endpoints.json](docs/deployer-policy-public-endpoints.json)'
    )
  })

  it('keeps an action both documents have, and the every-run read of the load balancer, on docs/deployer-policy.json', () => {
    const denied = (action: string, resource: string) =>
      findDenials(
        Object.assign(new Error(`User: ${SESSION} is not authorized to perform: ${action} on resource: ${resource}`), {
          name: 'AccessDenied'
        })
      )[0]
    const read = denied('elasticloadbalancing:DescribeLoadBalancers', '*')
    expect(read).toMatchObject({
      policy: 'docs/deployer-policy.json',
      statement: 'ReadWhatHasNoResourceLevelPermissions'
    })
    expect(explainDenial(read!, NO_ENV)).not.toContain('public-endpoints')
    expect(denialsMarkdown([read!], NO_ENV)).not.toContain('public-endpoints')
    const records = denied('route53:ChangeResourceRecordSets', 'arn:aws:route53:::hostedzone/Z1')
    expect(records).toMatchObject({ policy: 'docs/deployer-policy.json', statement: 'WriteRecordsUnderInternal' })
  })

  it('says a denied action the policy does not list is a bug of the action', () => {
    const [denial] = findDenials(
      Object.assign(
        new Error(
          `User: ${SESSION} is not authorized to perform: route53:CreateTrafficPolicy on resource: arn:aws:route53:::hostedzone/Z1`
        ),
        { name: 'AccessDenied' }
      )
    )
    expect(denial?.statement).toBeUndefined()
    expect(explainDenial(denial!, NO_ENV)).toContain(
      'docs/deployer-policy.json does not list it either, which is a bug of the action'
    )
  })

  it('is not found in errors that are not access denials', () => {
    expect(
      findDenials(
        wrap(
          'creating role r',
          Object.assign(new Error('Role r exists'), {
            name: 'EntityAlreadyExistsException',
            Code: 'EntityAlreadyExists'
          })
        )
      )
    ).toEqual([])
    expect(findDenials(new Error('plain'))).toEqual([])
    expect(parseDeniedMessage('Access Denied')).toEqual({})
  })

  it("reads Auto Scaling's refusal of a launch template as ec2:RunInstances, not as the group call that carried it", () => {
    expect(parseDeniedMessage('You are not authorized to use launch template: hyperform-prj-st-web')).toEqual({
      action: 'ec2:RunInstances',
      reason:
        'it may not launch from launch template hyperform-prj-st-web (Auto Scaling checks ec2:RunInstances on the template and on what a launch uses, ec2:CreateTags for the tags it gives instances and volumes, iam:PassRole for its instance profile)'
    })
  })
})
