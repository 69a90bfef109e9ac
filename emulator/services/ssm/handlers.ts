/** SSM (JSON 1.1, AmazonSSM.<Op>): the Amazon Linux 2023 public AMI parameters. */
import { al2023ParameterAmi, type Cloud, type ServiceModule } from '../../types.js'
import { jsonRpcBody, jsonRpcError, jsonRpcResponse, requireStr, targetOperation } from '../../protocols/json-rpc.js'
import { SSM_ERRORS, ssmError } from './errors.js'

export function createSsm(cloud: Cloud): ServiceModule {
  const modified = Date.now() / 1000
  return {
    signingName: 'ssm',
    throttleCode: 'ThrottlingException',
    errors: SSM_ERRORS,
    serverErrorCode: 'InternalServerError',
    operation: (req) => targetOperation(req, 'AmazonSSM'),
    async handle(operation, req) {
      if (operation !== 'GetParameter') throw ssmError('UnknownOperationException', `The emulator's SSM does not implement ${operation}`)
      const name = requireStr(jsonRpcBody(req), 'Name')
      const value = al2023ParameterAmi(name)
      if (!value) throw ssmError('ParameterNotFound', `Parameter ${name} not found.`)
      return jsonRpcResponse({
        Parameter: {
          Name: name,
          Type: 'String',
          Value: value,
          Version: 1,
          LastModifiedDate: modified,
          ARN: `arn:aws:ssm:${req.region}::parameter${name}`,
          DataType: 'aws:ec2:image'
        }
      })
    },
    error: (err) => jsonRpcError(err),
    state: () => ({ accountId: cloud.accountId })
  }
}
