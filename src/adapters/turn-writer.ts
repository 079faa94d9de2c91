/**
 * Answers written at the end of the event-loop turn that read their requests, together,
 * instead of one `writev` as each is ready.
 *
 * Node reads every request that arrived in one poll of its sockets before the turn's
 * `setImmediate` callbacks run. An answer ready within that turn (a synchronous store, a
 * refusal) waits for them, so the turn's answers leave back to back: on a busy server the
 * peers are woken once for several answers, not once each, which on two shared cores cost
 * a memory-store request about a fifth of its CPU time (issue #5, docs/benchmarks.md,
 * thirteenth round). Redis writes its replies the same way, before it sleeps. An answer
 * ready later (a database's reply, a body still arriving) is written at once: its turn has
 * ended, and waiting for another would only add latency.
 */

/** Turns ended so far; a request records the turn it was read in. */
let turn = 0;
let scheduled = false;
let dueWrites: (() => void)[] = [];

function endTurn(): void {
  scheduled = false;
  turn++;
  const writes = dueWrites;
  dueWrites = [];
  for (const write of writes) write();
}

/**
 * Marks a request read in this turn, making sure the turn's end is scheduled; pass the
 * value returned to {@link writeInTurn}.
 */
export function readInTurn(): number {
  if (!scheduled) {
    scheduled = true;
    setImmediate(endTurn);
  }
  return turn;
}

/**
 * Runs `write` at the end of the turn `readIn` (from {@link readInTurn}) when that turn is
 * still running, at once when it has ended. `write` must not throw.
 */
export function writeInTurn(readIn: number, write: () => void): void {
  if (readIn === turn) dueWrites.push(write);
  else write();
}
