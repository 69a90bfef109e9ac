export { createLambda } from './handlers.js'
export { LAMBDA_ERRORS } from './errors.js'
