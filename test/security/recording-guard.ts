import type { CapabilityArea, CapabilityGuard } from '../../src/security/capabilities/guard.js';

/**
 * A guard that hands every check to `assert` (which records it and may throw), for tests of a
 * facade's own calls: which capability it asks for, and that it asks before any side effect.
 */
export function recordingGuard(
  assert: (area: CapabilityArea, action: string, target: string) => void,
): CapabilityGuard {
  return {
    assert: (area, action, target) => assert(area, action, target),
    allows(area, action, target) {
      try {
        assert(area, action, target);
        return true;
      } catch {
        return false;
      }
    },
    checker: (area, action) => (target) => assert(area, action, target),
    flush() {},
  };
}
