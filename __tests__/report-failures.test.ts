/**
 * A failed rollout as the user reads it: the job summary and the preview comment name the service,
 * the version, what happened and what serves now, and quote the container's last lines in a fence
 * no log line can close.
 */
import { failureMarkdown, previewComment, summaryMarkdown, type RunReport } from '../src/report.js'
import type { ServiceFailure } from '../src/state.js'

const failure: ServiceFailure = {
  service: 'wordpress',
  version: 'wordpress:6.7',
  instance: 'i-0abc',
  reason: 'container exited with code 1 after 3 restarts (instance i-0abc)',
  lines: ['Error establishing a database connection', 'a line with ``` fences ```` inside'],
  outcome: 'rolled back: the previous version wordpress:6 is still serving (2 instance(s) in service)'
}

const report: RunReport = {
  project: 'prj-demo',
  region: 'us-east-1',
  stack: 'pr-7',
  stackSource: 'pull request',
  command: 'deploy',
  lambdaFunction: 'update_r53_record-prj-demo',
  services: [],
  changes: [],
  drift: [],
  writes: 3,
  ready: { ok: false, lines: [], failed: [failure] }
}

test('a failure names the service, version, reason and what serves now, and fences the lines past their backticks', () => {
  const text = failureMarkdown(failure)
  expect(text).toContain('**wordpress** `wordpress:6.7` failed: container exited with code 1 after 3 restarts')
  expect(text).toContain('previous version wordpress:6 is still serving')
  expect(text).toContain('Last 2 log line(s) of i-0abc:')
  const fence = /\n(`{5,})\n/.exec(text)?.[1]
  // longer than the longest run of backticks in the lines (4), so no line closes it
  expect(fence).toBe('`````')
  expect(text.split('\n').filter((l) => l === fence)).toHaveLength(2)
})

test('the job summary shows failed rollouts instead of a readiness list, and the preview comment shows them too', () => {
  const summary = summaryMarkdown(report)
  expect(summary).toContain('### Failed rollouts')
  expect(summary).not.toContain('### Not ready')
  expect(summary).toContain('Error establishing a database connection')
  const comment = previewComment(report, new Date('2026-12-03T07:00:00Z'))
  expect(comment).toContain('#### Failed rollouts')
  expect(comment).toContain('**wordpress** `wordpress:6.7` failed')
  expect(comment).toContain('Error establishing a database connection')
})

test('a failure without log lines says so', () => {
  expect(failureMarkdown({ ...failure, lines: [], instance: undefined })).toMatch(/No container log lines\.$/)
})
