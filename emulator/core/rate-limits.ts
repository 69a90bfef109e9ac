/**
 * AWS per-account, per-region request-rate limits as token buckets.
 * One table: the first row whose service and operation match a call decides its bucket.
 * EC2 evaluates each API on its own bucket (sized by its category); the other services
 * share one bucket per service.
 */
interface BucketRule {
  /** Bucket name; buckets are per account, region and this name (and the operation when perOperation). */
  name: string
  service: string
  /** The request body is passed for rules that look at parameters (unfiltered describes). */
  matches(operation: string, body: string): boolean
  /** Tokens refilled per second. */
  rate: number
  /** Bucket size. */
  burst: number
  perOperation?: boolean
}

const isDescribe = (op: string): boolean => /^(Describe|Get|List)/.test(op)

/** A DescribeInstances without filters, ids or pagination: EC2 gives these a smaller bucket. */
const unfilteredDescribeInstances = (op: string, body: string): boolean =>
  op === 'DescribeInstances' && !/(^|&)(Filter|InstanceId)\.|(^|&)MaxResults=/.test(body)

export const RATE_LIMIT_RULES: readonly BucketRule[] = [
  { name: 'ec2-run-instances', service: 'ec2', matches: (op) => op === 'RunInstances', rate: 2, burst: 5 },
  {
    name: 'ec2-unfiltered-describe',
    service: 'ec2',
    matches: unfilteredDescribeInstances,
    rate: 10,
    burst: 50,
    perOperation: true
  },
  { name: 'ec2-describe', service: 'ec2', matches: isDescribe, rate: 20, burst: 100, perOperation: true },
  { name: 'ec2-mutating', service: 'ec2', matches: () => true, rate: 5, burst: 50, perOperation: true },
  { name: 'route53', service: 'route53', matches: () => true, rate: 5, burst: 5 },
  { name: 'lambda-control', service: 'lambda', matches: (op) => op !== 'Invoke', rate: 15, burst: 15 },
  { name: 'autoscaling', service: 'autoscaling', matches: () => true, rate: 10, burst: 20 },
  { name: 'iam', service: 'iam', matches: () => true, rate: 10, burst: 20 },
  // Parameter Store's standard throughput: PutParameter 3 per second (Systems Manager quotas)
  { name: 'ssm-put-parameter', service: 'ssm', matches: (op) => op === 'PutParameter', rate: 3, burst: 3 },
  { name: 'ssm', service: 'ssm', matches: () => true, rate: 40, burst: 40 },
  // Elastic Load Balancing (API guide, request throttling): the non-mutating actions share a bucket of 40
  // refilled at 10 per second; the mutating ones get the emulator's own 20 + 5/s (the guide's per-category
  // table is not reproduced here)
  { name: 'elbv2-describe', service: 'elasticloadbalancing', matches: isDescribe, rate: 10, burst: 40 },
  { name: 'elbv2-mutating', service: 'elasticloadbalancing', matches: () => true, rate: 5, burst: 20 },
  // ACM: a requests-per-second quota per action (Service Quotas)
  ...(
    [
      ['RequestCertificate', 5],
      ['DescribeCertificate', 10],
      ['ListCertificates', 8],
      ['DeleteCertificate', 10],
      ['AddTagsToCertificate', 5],
      ['RemoveTagsFromCertificate', 5],
      ['ListTagsForCertificate', 10]
    ] as const
  ).map(([op, rate]) => ({ name: `acm-${op}`, service: 'acm', matches: (o: string) => o === op, rate, burst: rate }))
]

interface Bucket {
  tokens: number
  updatedAt: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly rules: readonly BucketRule[] = RATE_LIMIT_RULES,
    private readonly now: () => number = Date.now
  ) {}

  /** Takes a token for the call; false when the bucket is empty (the call is throttled). */
  take(call: { account: string; region: string; service: string; operation: string; body?: string }): boolean {
    const rule = this.rules.find((r) => r.service === call.service && r.matches(call.operation, call.body ?? ''))
    if (!rule) return true
    const key = `${call.account}/${call.region}/${rule.name}${rule.perOperation ? `/${call.operation}` : ''}`
    const now = this.now()
    const bucket = this.buckets.get(key) ?? { tokens: rule.burst, updatedAt: now }
    bucket.tokens = Math.min(rule.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rule.rate)
    bucket.updatedAt = now
    this.buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}
