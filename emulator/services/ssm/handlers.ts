/** SSM's operations, one row each. */
import type { GetParameterRequest, GetParameterResult } from '@aws-sdk/client-ssm'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { ssmError } from './errors.js'
import type { PublicParameters } from './model.js'

export function handlers(parameters: PublicParameters): Record<string, JsonHandler> {
  return {
    GetParameter: (input: GetParameterRequest, ctx: JsonContext): GetParameterResult => {
      const name = input.Name
      if (!name)
        throw ssmError(
          'ValidationException',
          "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        )
      const parameter = parameters.find(name, ctx.region)
      if (!parameter) throw ssmError('ParameterNotFound', `Parameter ${name} not found.`)
      return { Parameter: parameter }
    }
  }
}
