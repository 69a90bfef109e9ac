export { createLogs } from './handlers.js'
export { LOGS_ERRORS } from './errors.js'
