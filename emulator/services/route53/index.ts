export { createRoute53 } from './handlers.js'
export { ROUTE53_ERRORS } from './errors.js'
