/**
 * The one door to AWS: `send(command)` picks the client from the command's own
 * operation schema (service namespace and operation name), bounds in-flight
 * calls per service, counts reads and writes, and retries throttling past the
 * SDK's attempts. Paginated reads go through the SDK's paginators, whose
 * requests come back through the same door.
 */
import type { Clients } from './clients.js'
import { noteOperation } from './denied.js'
import { errorCode, errorMessage, wrap } from './errors.js'
import { createLimiter, type Limiter } from './limit.js'
import { DEFAULT_TIMING, withRetry, type Timing } from './retry.js'

export type ServiceKey = keyof Clients

/** Each client's IAM service prefix (the IAM action of an operation is `<prefix>:<operation>`). */
const IAM_PREFIXES: Record<ServiceKey, string> = {
  ec2: 'ec2',
  autoScaling: 'autoscaling',
  route53: 'route53',
  lambda: 'lambda',
  iam: 'iam',
  events: 'events',
  logs: 'logs',
  sqs: 'sqs',
  ssm: 'ssm',
  sts: 'sts',
  elb: 'elasticloadbalancing',
  acm: 'acm',
  ecr: 'ecr',
  pricing: 'pricing'
}

/** Smithy namespaces of the operation schemas -> the client that serves them. */
const NAMESPACES: Record<string, ServiceKey> = {
  'com.amazonaws.ec2': 'ec2',
  'com.amazonaws.autoscaling': 'autoScaling',
  'com.amazonaws.route53': 'route53',
  'com.amazonaws.lambda': 'lambda',
  'com.amazonaws.iam': 'iam',
  'com.amazonaws.eventbridge': 'events',
  'com.amazonaws.cloudwatchlogs': 'logs',
  'com.amazonaws.sqs': 'sqs',
  'com.amazonaws.ssm': 'ssm',
  'com.amazonaws.sts': 'sts',
  'com.amazonaws.elasticloadbalancingv2': 'elb',
  'com.amazonaws.acm': 'acm',
  'com.amazonaws.ecr': 'ecr',
  'com.amazonaws.pricing': 'pricing'
}

/**
 * In-flight calls per AWS service: every independent call of a 100-service stack
 * at once (two groups per service), so that the depth does not grow with the
 * number of services (at 50, a 100-service deploy ran each step in 2 to 4 waves);
 * the clients' socket pools are as large (clients.ts). A burst beyond AWS's
 * buckets is throttled and retried either way: 50 did not keep it inside them.
 */
export const DEFAULT_CONCURRENCY = 256

/** An SDK v3 command: its input, its operation schema, and (in its type) its output. */
export interface AwsCommand {
  readonly input: object
  readonly schema?: unknown
  resolveMiddleware(...args: never[]): unknown
}

/** The output type of a command (its middleware handler resolves to `{ output }`). */
export type OutputOf<C> = C extends {
  resolveMiddleware(...args: never[]): (...a: never[]) => Promise<{ output: infer O }>
}
  ? O
  : never

export function operationOf(command: { schema?: unknown }): { service: ServiceKey; operation: string } {
  const schema = command.schema as [number, string, string] | undefined
  const service = schema ? NAMESPACES[schema[1]] : undefined
  if (!schema || !service)
    throw new Error(`not an AWS command the action knows: ${JSON.stringify(schema)?.slice(0, 80)}`)
  return { service, operation: schema[2] }
}

export const isRead = (operation: string): boolean => /^(Describe|Get|List|Filter|BatchGet)/.test(operation)

export interface AwsOptions {
  concurrency?: number
  timing?: Partial<Timing>
  log?: (line: string) => void
}

export class Aws {
  readonly clients: Clients
  readonly timing: Timing
  readonly log: (line: string) => void
  reads = 0
  writes = 0
  private readonly limiters = new Map<ServiceKey, Limiter>()
  private readonly concurrency: number

  constructor(clients: Clients, options: AwsOptions = {}) {
    this.clients = clients
    this.timing = { ...DEFAULT_TIMING, ...options.timing }
    this.log = options.log ?? (() => undefined)
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  }

  private limiter(service: ServiceKey): Limiter {
    let limiter = this.limiters.get(service)
    if (!limiter) {
      limiter = createLimiter(this.concurrency)
      this.limiters.set(service, limiter)
    }
    return limiter
  }

  /** One API call: the client and operation come from the command itself. */
  send<C extends AwsCommand>(command: C): Promise<OutputOf<C>> {
    const { service, operation } = operationOf(command)
    const client = this.clients[service] as unknown as { send(command: AwsCommand): Promise<OutputOf<C>> }
    return this.limiter(service)(() =>
      withRetry(
        async () => {
          if (isRead(operation)) this.reads += 1
          else this.writes += 1
          try {
            return await client.send(command)
          } catch (err) {
            noteOperation(err, { service: IAM_PREFIXES[service], operation })
            throw err
          }
        },
        { timing: this.timing, budgetMs: this.timing.throttleMs, retryable: () => false }
      )
    )
  }

  /**
   * A client for the SDK's paginators whose `send` is this door (the paginators
   * check `instanceof` the client class, so it keeps the client's prototype).
   */
  through<K extends ServiceKey>(service: K): Clients[K] {
    const client = this.clients[service]
    return Object.create(client, { send: { value: (command: AwsCommand) => this.send(command) } }) as Clients[K]
  }

  /** Retries `fn` on the given AWS codes (eventual consistency) within `budgetMs`. */
  retryOn<T>(
    codes: string[] | ((err: unknown) => boolean),
    fn: () => Promise<T>,
    budgetMs = this.timing.consistencyMs
  ): Promise<T> {
    const retryable = typeof codes === 'function' ? codes : (err: unknown): boolean => codes.includes(errorCode(err))
    return withRetry(fn, {
      timing: this.timing,
      budgetMs,
      retryable,
      onRetry: (err, attempt, delay) =>
        this.log(`  retry ${attempt} in ${delay} ms: ${errorCode(err)}: ${errorMessage(err)}`)
    })
  }
}

/** Runs a read; the listed codes (the resource is not there) give undefined, anything else is wrapped with `context`. */
export async function readOptional<T>(
  context: string,
  absent: string[],
  read: () => Promise<T>
): Promise<T | undefined> {
  try {
    return await read()
  } catch (err) {
    if (absent.includes(errorCode(err))) return undefined
    throw wrap(context, err)
  }
}

/** Runs a delete; the listed codes mean "already gone": false. */
export async function tolerate(
  gone: string[],
  run: () => Promise<unknown>,
  isGone?: (err: unknown) => boolean
): Promise<boolean> {
  try {
    await run()
    return true
  } catch (err) {
    if (gone.includes(errorCode(err)) || isGone?.(err)) return false
    throw err
  }
}
