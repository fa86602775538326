// At most one CPU profile in flight per target process (host:port), even when
// the same process is listed twice: Go allows one CPU profiler per process,
// and a second request would fail with "cpu profiling already in use" after
// doubling the load we put on the service.

export class CpuProfileGate {
  private readonly held = new Set<string>();

  /** A release function, or null when a CPU profile of `instance` is in flight. */
  tryAcquire(instance: string): (() => void) | null {
    if (this.held.has(instance)) return null;
    this.held.add(instance);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(instance);
    };
  }

  isHeld(instance: string): boolean {
    return this.held.has(instance);
  }
}

/**
 * The CPU window per target. Starts at profile_duration; a 400 "profile
 * duration exceeds server's WriteTimeout" halves it (Go does not say its
 * WriteTimeout, so halving finds a window that fits in a few scrapes).
 */
export class CpuWindows {
  private readonly shortened = new Map<string, number>();

  seconds(targetId: string, configuredMs: number): number {
    const configured = Math.max(1, Math.round(configuredMs / 1000));
    return Math.min(configured, this.shortened.get(targetId) ?? configured);
  }

  /** Returns the new window, or null when it cannot get shorter than 1s. */
  shorten(targetId: string, currentSeconds: number): number | null {
    if (currentSeconds <= 1) return null;
    const next = Math.max(1, Math.floor(currentSeconds / 2));
    this.shortened.set(targetId, next);
    return next;
  }

  retainTargets(ids: ReadonlySet<string>): void {
    for (const id of this.shortened.keys()) if (!ids.has(id)) this.shortened.delete(id);
  }
}
