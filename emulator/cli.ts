/** `npm run emulator -- --port 4566 [fault flags]`: runs the emulator until interrupted. */
import { optionsFromArgs, USAGE } from './cli-options.js'
import { startEmulator } from './server.js'

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--help')) {
    console.log(USAGE)
    return
  }
  const emulator = await startEmulator(optionsFromArgs(args))
  console.log(`AWS emulator listening on ${emulator.endpoint} (account ${emulator.accountId})`)
  console.log('Set in the environment:')
  console.log(`  export AWS_ENDPOINT_URL=${emulator.endpoint}`)
  console.log('  export AWS_ACCESS_KEY_ID=AKIAEMULATOR AWS_SECRET_ACCESS_KEY=emulator AWS_REGION=us-east-1')
  console.log(
    `Control API: ${emulator.endpoint}/_emulator/{calls,calls/reset,idle,faults,simulation,state,instances/<id>/terminate,instances/<id>/spot-interrupt,instances/<id>/rebalance,schedules,schedules/<rule>/fire,events/metrics,images,containers,instances/<id>/container,instances/<id>/container/health}`
  )
  const shutdown = (): void => {
    void emulator.stop().then(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  console.error(USAGE)
  process.exit(2)
})
