/**
 * One warm Lambda execution environment: loads the handler named by _HANDLER
 * from LAMBDA_TASK_ROOT once, then runs one invocation at a time on request
 * from the emulator (IPC), forwarding console output as log lines.
 * Plain JavaScript so it runs under plain `node`, like the Lambda runtime.
 */
import fs from 'node:fs'
import path from 'node:path'
import util from 'node:util'
import { pathToFileURL } from 'node:url'

let requestId = ''

function send(message) {
  if (process.connected) process.send(message)
}

function capture(level) {
  return (...args) => {
    const line = `${new Date().toISOString()}\t${requestId || 'undefined'}\t${level}\t${util.format(...args)}\n`
    send({ type: 'log', message: line })
  }
}

// raw writes travel on the IPC channel too, so they stay in order with console output and the result
for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    send({ type: 'raw', message: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') })
    const done = typeof encoding === 'function' ? encoding : callback
    if (typeof done === 'function') done()
    return true
  }
}

console.log = capture('INFO')
console.info = capture('INFO')
console.warn = capture('WARN')
console.error = capture('ERROR')
console.debug = capture('DEBUG')
console.trace = capture('TRACE')

function userError(errorType, message) {
  const err = new Error(message)
  err.errorType = errorType
  return err
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd()
  const spec = process.env._HANDLER ?? 'index.handler'
  const dot = spec.lastIndexOf('.')
  const modulePath = spec.slice(0, dot)
  const name = spec.slice(dot + 1)
  const file = ['.mjs', '.js', '.cjs'].map((ext) => path.resolve(root, modulePath + ext)).find((f) => fs.existsSync(f))
  if (!file) throw userError('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`)
  let mod
  try {
    mod = await import(pathToFileURL(file).href)
  } catch (err) {
    const type = err instanceof SyntaxError ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError'
    throw userError(type, String(err && err.stack ? err.stack.split('\n')[0] : err))
  }
  const fn = mod[name] ?? mod.default?.[name]
  if (typeof fn !== 'function') throw userError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`)
  return fn
}

const handler = loadHandler()
handler.then(
  () => send({ type: 'ready' }),
  () => send({ type: 'ready' })
)

function runHandler(fn, event, context) {
  if (fn.length < 3) return Promise.resolve(fn(event, context))
  if (process.env.AWS_EXECUTION_ENV === 'AWS_Lambda_nodejs24.x') {
    return Promise.reject(
      userError(
        'Runtime.CallbackHandlerDeprecated',
        'Callback-based function handlers are not supported in nodejs24.x; use an async handler.'
      )
    )
  }
  return new Promise((resolve, reject) => {
    const returned = fn(event, context, (err, value) => (err ? reject(err) : resolve(value)))
    if (returned && typeof returned.then === 'function') returned.then(resolve, reject)
  })
}

function describeError(err) {
  if (err instanceof Error) {
    return {
      errorType: err.errorType ?? err.name ?? 'Error',
      errorMessage: err.message,
      trace: (err.stack ?? '').split('\n')
    }
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] }
}

async function invoke(message) {
  requestId = message.requestId
  const deadline = Date.now() + message.timeoutMs
  const context = {
    awsRequestId: message.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now())
  }
  try {
    const fn = await handler
    const result = await runHandler(fn, JSON.parse(message.payload), context)
    send({ type: 'result', id: message.id, ok: true, payload: JSON.stringify(result) ?? 'null' })
  } catch (err) {
    const described = describeError(err)
    capture('ERROR')('Invoke Error \t' + JSON.stringify(described))
    send({ type: 'result', id: message.id, ok: false, ...described })
  }
}

process.on('message', (message) => {
  if (message && message.type === 'invoke') void invoke(message)
})
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', (err) => {
  capture('ERROR')('Uncaught Exception \t' + JSON.stringify(describeError(err)))
  process.exit(129)
})
process.on('unhandledRejection', (reason) => {
  capture('ERROR')('Unhandled Promise Rejection \t' + JSON.stringify(describeError(reason)))
  process.exit(128)
})
