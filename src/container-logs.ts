/**
 * `command: logs`: the last lines of each container of the stack, from the
 * stack's log group (one stream per instance and service, `<service>/<instance-id>`,
 * written by Docker's awslogs driver on the instance).
 */
import { GetLogEventsCommand, paginateDescribeLogStreams } from '@aws-sdk/client-cloudwatch-logs'
import { errorCode, wrap } from './aws/errors.js'
import type { Aws } from './aws/send.js'
import { containerLogGroupName, type StackScope } from './names.js'

export interface ContainerLog {
  service: string
  instance: string
  stream: string
  /** Oldest first. */
  lines: string[]
}

/** The last `lines` lines of every container (of `service` only, when given), streams by name. */
export async function readContainerLogs(
  aws: Aws,
  scope: StackScope,
  options: { lines: number; service?: string }
): Promise<ContainerLog[]> {
  const group = containerLogGroupName(scope)
  const streams: string[] = []
  try {
    for await (const page of paginateDescribeLogStreams(
      { client: aws.through('logs'), pageSize: 50 },
      { logGroupName: group, ...(options.service ? { logStreamNamePrefix: `${options.service}/` } : {}) }
    ))
      streams.push(...(page.logStreams ?? []).flatMap((s) => (s.logStreamName ? [s.logStreamName] : [])))
  } catch (err) {
    if (errorCode(err) === 'ResourceNotFoundException')
      throw new Error(`stack ${scope.stack} has no container logs: log group ${group} not found (deployed yet?)`)
    throw wrap(`listing the log streams of ${group}`, err)
  }
  return Promise.all(
    streams.sort().map(async (stream) => {
      const out = await aws.send(
        new GetLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          limit: options.lines,
          startFromHead: false
        })
      )
      const [service = '', instance = ''] = stream.split('/')
      return { service, instance, stream, lines: (out.events ?? []).map((e) => e.message ?? '') }
    })
  )
}
