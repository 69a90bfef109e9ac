/**
 * The one AWS client factory. Region, retries and user agent are set here;
 * the endpoint comes from the SDK's own configuration (AWS_ENDPOINT_URL and
 * friends), so the same code talks to AWS and to the local emulator.
 */
import { ACMClient } from '@aws-sdk/client-acm'
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { EC2Client } from '@aws-sdk/client-ec2'
import { ECRClient } from '@aws-sdk/client-ecr'
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { EventBridgeClient } from '@aws-sdk/client-eventbridge'
import { IAMClient } from '@aws-sdk/client-iam'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { PricingClient } from '@aws-sdk/client-pricing'
import { Route53Client } from '@aws-sdk/client-route-53'
import { SQSClient } from '@aws-sdk/client-sqs'
import { SSMClient } from '@aws-sdk/client-ssm'
import { STSClient } from '@aws-sdk/client-sts'

export const ACTION_VERSION = '1.0.0'
export const USER_AGENT = `hyperform-action/${ACTION_VERSION}`
export const DEFAULT_MAX_ATTEMPTS = 8
/** Sockets per client: the engine's concurrency per AWS service (DEFAULT_CONCURRENCY in engine.ts). */
export const MAX_SOCKETS = 256

export interface Clients {
  ec2: EC2Client
  autoScaling: AutoScalingClient
  route53: Route53Client
  lambda: LambdaClient
  iam: IAMClient
  events: EventBridgeClient
  logs: CloudWatchLogsClient
  sqs: SQSClient
  ssm: SSMClient
  sts: STSClient
  elb: ElasticLoadBalancingV2Client
  acm: ACMClient
  /** The repositories of the images the action builds. */
  ecr: ECRClient
  /** The Price List Query API, in the one of its regions nearest the stack's (priceListRegion). */
  pricing: PricingClient
}

export interface ClientOptions {
  region: string
  maxAttempts?: number
}

/** The Price List Query API answers in three regions (and one in China); each serves every region's prices. */
export function priceListRegion(region: string): string {
  if (region.startsWith('cn-')) return 'cn-northwest-1'
  if (/^(eu|me|af|il)-/.test(region)) return 'eu-central-1'
  if (region.startsWith('ap-')) return 'ap-south-1'
  return 'us-east-1'
}

export function createClients(options: ClientOptions): Clients {
  const config = {
    region: options.region,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    // standard, not adaptive: under the account's request buckets adaptive throttles itself
    // (~80 throttled calls instead of ~1300 at 100 services, same wall time), but against
    // throttling that is not load-based (30% injected) its client-side rate collapses and a
    // 10-service deploy takes 3x longer. Throttling past the SDK's attempts is retried by
    // Engine.call with a time budget.
    retryMode: 'standard',
    customUserAgent: USER_AGENT,
    // the SDK's default pool is 50 sockets per client: as many as the engine runs at once
    requestHandler: { httpAgent: { maxSockets: MAX_SOCKETS }, httpsAgent: { maxSockets: MAX_SOCKETS } }
  }
  return {
    ec2: new EC2Client(config),
    autoScaling: new AutoScalingClient(config),
    route53: new Route53Client(config),
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    events: new EventBridgeClient(config),
    logs: new CloudWatchLogsClient(config),
    sqs: new SQSClient(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
    ecr: new ECRClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    acm: new ACMClient(config),
    // an estimate is not worth a long wait: few attempts, then the shipped table
    pricing: new PricingClient({
      ...config,
      region: priceListRegion(options.region),
      maxAttempts: Math.min(3, config.maxAttempts)
    })
  }
}

/** Releases the clients' sockets (tests and the emulator demo). */
export function destroyClients(clients: Clients): void {
  for (const client of Object.values(clients)) client.destroy()
}
