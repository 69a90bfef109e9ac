/** STS: GetCallerIdentity (STS keeps no state, so it has no model). */
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts'
import type { Cloud } from '../../types.js'
import type { QueryContext, QueryHandler } from '../../protocols/query.js'

function accessKeyOf(ctx: QueryContext): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(ctx.req.headers.authorization ?? '')?.[1]
}

/** STS's operations, one row each. */
export function handlers(cloud: Cloud): Record<string, QueryHandler> {
  return {
    GetCallerIdentity: (_input: unknown, ctx: QueryContext): GetCallerIdentityResponse => ({
      UserId: accessKeyOf(ctx) ?? 'AIDAEMULATOR',
      Account: cloud.accountId,
      Arn: `arn:aws:iam::${cloud.accountId}:user/emulator`
    })
  }
}
