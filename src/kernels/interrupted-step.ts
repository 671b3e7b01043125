/**
 * A step's kernels stopped after they had begun writing (a worker thread failed or stopped
 * answering while it held part of the step): some elements of the variables and their state may
 * hold this step's update and others not. The optimizer that ran the step refuses every later step
 * until its whole state is replaced (`setWeights` / `loadOwnVariables`), so a half-applied step
 * never silently becomes part of training.
 */
export class InterruptedStepError extends Error {
  constructor(detail: string) {
    super(
      `adam-optimizer: ${detail}; the step was interrupted after it had begun writing, so the variables and the ` +
        'optimizer state are partly updated. Restore both from a checkpoint (the variables, and the optimizer with ' +
        'setWeights or loadOwnVariables), or start again with new ones.',
    );
    this.name = 'InterruptedStepError';
  }
}
