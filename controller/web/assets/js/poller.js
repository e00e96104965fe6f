// Repeats `tick` with a delay chosen after each run (`nextDelay()` in ms), never
// overlapping runs, paused while the tab is hidden. stop() ends it for good.
export function startPoller(tick, nextDelay) {
  let timer = null;
  let stopped = false;
  let running = false;

  async function run() {
    timer = null;
    if (stopped || running) return;
    if (document.hidden) return;  // resumed by visibilitychange
    running = true;
    try { await tick(); } catch (e) { /* tick shows its own errors */ }
    running = false;
    schedule();
  }
  function schedule() {
    if (stopped || timer) return;
    timer = setTimeout(run, nextDelay());
  }
  function onVisible() { if (!document.hidden && !timer && !running) run(); }
  document.addEventListener('visibilitychange', onVisible);
  schedule();

  return {
    // Runs a tick now (e.g. after the user created something).
    poke() { if (timer) { clearTimeout(timer); timer = null; } run(); },
    // Re-arms with a fresh delay (e.g. after something started running).
    reschedule() { if (timer) { clearTimeout(timer); timer = null; } schedule(); },
    stop() { stopped = true; if (timer) clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); },
  };
}
