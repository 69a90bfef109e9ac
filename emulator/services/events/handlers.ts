/** EventBridge's operations, one row each: rules and targets on the default bus. */
import type {
  DeleteRuleRequest,
  DescribeRuleRequest,
  DescribeRuleResponse,
  DisableRuleRequest,
  ListRulesRequest,
  ListRulesResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  ListTargetsByRuleRequest,
  ListTargetsByRuleResponse,
  PutRuleRequest,
  PutRuleResponse,
  PutTargetsRequest,
  PutTargetsResponse,
  PutTargetsResultEntry,
  RemoveTargetsRequest,
  RemoveTargetsResponse,
  Tag,
  TagResourceRequest
} from '@aws-sdk/client-eventbridge'
import type { Cloud } from '../../types.js'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { eventsError } from './errors.js'
import { busName, findRule, newMetrics, ruleByArn, ruleKey, type EventsState, type Rule, type Target } from './model.js'
import { parsePattern } from './pattern.js'
import { parseSchedule, startClock } from './schedule.js'

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/

function required(value: string | undefined, member: string): string {
  if (value === undefined || value === '') {
    throw eventsError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`
    )
  }
  return value
}

function tagsOf(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [String(t.Key), t.Value ?? '']))
}

function targetProblem(t: Target): string | undefined {
  if (!NAME.test(t.Id))
    return `Parameter ${t.Id} is not valid. Reason: Target Id must match [\\.\\-_A-Za-z0-9]+ and be at most 64 characters.`
  if (!/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$/.test(t.Arn))
    return `Parameter ${t.Arn} is not valid. Reason: Provided Arn is not in correct format.`
  return undefined
}

export function handlers(cloud: Cloud, state: EventsState): Record<string, JsonHandler> {
  const rule = (ctx: JsonContext, name: string | undefined, member: string, bus: string | undefined): Rule =>
    findRule(state, ctx.region, required(name, member), bus)
  const setState = (value: string) => (input: DisableRuleRequest, ctx: JsonContext) => {
    rule(ctx, input.Name, 'Name', input.EventBusName).state = value
  }
  return {
    PutRule: (input: PutRuleRequest, ctx: JsonContext): PutRuleResponse => {
      const name = required(input.Name, 'Name')
      if (!NAME.test(name)) {
        throw eventsError(
          'ValidationException',
          `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`
        )
      }
      const bus = busName(input.EventBusName)
      if (bus !== 'default') throw eventsError('ResourceNotFoundException', `Event bus ${bus} does not exist.`)
      const { EventPattern: eventPattern, ScheduleExpression: scheduleExpression } = input
      if (!eventPattern && !scheduleExpression)
        throw eventsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.')
      if (eventPattern) parsePattern(eventPattern)
      if (scheduleExpression) parseSchedule(scheduleExpression)
      const key = ruleKey(ctx.region, name)
      const existing = state.rules.get(key)
      const next: Rule = {
        name,
        region: ctx.region,
        arn: `arn:aws:events:${ctx.region}:${cloud.accountId}:rule/${name}`,
        eventPattern,
        scheduleExpression,
        state: input.State ?? 'ENABLED',
        description: input.Description,
        roleArn: input.RoleArn,
        targets: existing?.targets ?? [],
        tags: { ...existing?.tags, ...tagsOf(input.Tags) },
        metrics: existing?.metrics ?? newMetrics(),
        ...(existing?.scheduleExpression === scheduleExpression && existing?.nextFire !== undefined
          ? { nextFire: existing.nextFire }
          : {})
      }
      state.rules.set(key, next)
      if (scheduleExpression) startClock(cloud, state)
      return { RuleArn: next.arn }
    },
    DescribeRule: (input: DescribeRuleRequest, ctx: JsonContext): DescribeRuleResponse => {
      const r = rule(ctx, input.Name, 'Name', input.EventBusName)
      return {
        Name: r.name,
        Arn: r.arn,
        EventPattern: r.eventPattern,
        ScheduleExpression: r.scheduleExpression,
        State: r.state as DescribeRuleResponse['State'],
        Description: r.description,
        RoleArn: r.roleArn,
        EventBusName: 'default',
        CreatedBy: cloud.accountId
      }
    },
    ListRules: (input: ListRulesRequest, ctx: JsonContext): ListRulesResponse => {
      const prefix = input.NamePrefix ?? ''
      const rules = [...state.rules.values()]
        .filter((r) => r.region === ctx.region && r.name.startsWith(prefix))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
      return {
        Rules: rules.map((r) => ({
          Name: r.name,
          Arn: r.arn,
          EventPattern: r.eventPattern,
          State: r.state as DescribeRuleResponse['State'],
          Description: r.description,
          EventBusName: 'default'
        }))
      }
    },
    DeleteRule: (input: DeleteRuleRequest, ctx: JsonContext) => {
      const key = ruleKey(ctx.region, required(input.Name, 'Name'))
      const existing = state.rules.get(key)
      // deleting a rule that does not exist succeeds, as in AWS
      if (!existing) return
      if (existing.targets.length > 0)
        throw eventsError('ValidationException', "Rule can't be deleted since it has targets.")
      state.rules.delete(key)
    },
    EnableRule: setState('ENABLED'),
    DisableRule: setState('DISABLED'),
    PutTargets: (input: PutTargetsRequest, ctx: JsonContext): PutTargetsResponse => {
      const r = rule(ctx, input.Rule, 'Rule', input.EventBusName)
      const targets = (input.Targets ?? []).map((t): Target => ({
        Id: String(t.Id),
        Arn: String(t.Arn),
        Input: t.Input,
        InputPath: t.InputPath,
        RoleArn: t.RoleArn
      }))
      if (targets.length === 0 || targets.length > 10) {
        throw eventsError(
          'ValidationException',
          `1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10`
        )
      }
      const failed: PutTargetsResultEntry[] = []
      for (const t of targets) {
        const problem = targetProblem(t)
        if (problem) failed.push({ TargetId: t.Id, ErrorCode: 'ValidationException', ErrorMessage: problem })
        else if (cloud.random() < (cloud.faults.putTargetsFailureRate ?? 0)) {
          failed.push({
            TargetId: t.Id,
            ErrorCode: 'ConcurrentModificationException',
            ErrorMessage: 'Failed to add target(s) to the rule because of a concurrent modification. Retry the request.'
          })
        } else {
          r.targets = [...r.targets.filter((x) => x.Id !== t.Id), t]
        }
      }
      return { FailedEntryCount: failed.length, FailedEntries: failed }
    },
    ListTargetsByRule: (input: ListTargetsByRuleRequest, ctx: JsonContext): ListTargetsByRuleResponse => {
      const r = rule(ctx, input.Rule, 'Rule', input.EventBusName)
      const start = Number(input.NextToken ?? 0) || 0
      const limit = input.Limit ?? 100
      return {
        Targets: r.targets.slice(start, start + limit),
        NextToken: start + limit < r.targets.length ? String(start + limit) : undefined
      }
    },
    RemoveTargets: (input: RemoveTargetsRequest, ctx: JsonContext): RemoveTargetsResponse => {
      const r = rule(ctx, input.Rule, 'Rule', input.EventBusName)
      const ids = input.Ids ?? []
      // removing an id that is not a target is a no-op, as in AWS
      r.targets = r.targets.filter((t) => !ids.includes(t.Id))
      return { FailedEntryCount: 0, FailedEntries: [] }
    },
    TagResource: (input: TagResourceRequest) => {
      Object.assign(ruleByArn(state, required(input.ResourceARN, 'ResourceARN')).tags, tagsOf(input.Tags))
    },
    ListTagsForResource: (input: ListTagsForResourceRequest): ListTagsForResourceResponse => {
      const r = ruleByArn(state, required(input.ResourceARN, 'ResourceARN'))
      return { Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })) }
    }
  }
}
