// Prints the closing line CI reads: "N passed, N failed" (", N skipped" when any were skipped).
// A test file that failed to run at all counts as one failure.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const suffix = skipped > 0 ? `, ${skipped} skipped` : ''
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed${suffix}\n`)
  }
}
module.exports = SummaryReporter
