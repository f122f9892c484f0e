/**
 * Mocha's spec reporter plus a last line in the plain form CI reads: "N passed, N failed".
 */
import Mocha = require("mocha");

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats;
      if (!stats) {
        return;
      }
      const skipped = stats.pending > 0 ? `, ${stats.pending} skipped` : "";
      console.log(`${stats.passes} passed, ${stats.failures} failed${skipped}`);
    });
  }
}

export = SpecWithSummary;
