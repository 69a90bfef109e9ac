/** STS: GetCallerIdentity. */
import * as sts from '@aws-sdk/client-sts'
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts'
import type { Cloud, ServiceModule } from '../types.js'
import { createQueryModule } from '../protocols/query.js'
import type { QueryContext } from '../protocols/query.js'

function accessKeyOf(ctx: QueryContext): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(ctx.req.headers.authorization ?? '')?.[1]
}

export function createSts(cloud: Cloud): ServiceModule {
  return createQueryModule({
    signingName: 'sts',
    flavor: 'query',
    xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
    schemas: sts as unknown as Record<string, unknown>,
    throttleCode: 'Throttling',
    throttleStatus: 400,
    handlers: {
      GetCallerIdentity: (_input: unknown, ctx: QueryContext): GetCallerIdentityResponse => ({
        UserId: accessKeyOf(ctx) ?? 'AIDAEMULATOR',
        Account: cloud.accountId,
        Arn: `arn:aws:iam::${cloud.accountId}:user/emulator`
      })
    }
  })
}
